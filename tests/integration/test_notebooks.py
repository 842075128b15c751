"""Every analyst notebook runs top to bottom against a real database with the demo county."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gis.db import Database
from layers.demo import DEMO_SOURCE, build_demo_county
from layers.demo.loading import import_demo_county

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_db(db: Database) -> Database:
    county = build_demo_county(small=True)
    import_demo_county(county, source=DEMO_SOURCE, db=db)
    return db


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(
    path: Path, demo_db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        f"{path.name} is committed with outputs; clear them"
    )
    monkeypatch.setenv("PINGAN_DATABASE_URL", db_url)
    # The kernel must talk to the test database, never to a developer's own.
    check = f"import os; assert os.environ['PINGAN_DATABASE_URL'] == {db_url!r}"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(check))
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=dict(os.environ))
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
