"""The incident taxonomy: data files, resolution of foreign names, groups."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis.errors import InputFileError, ValidationError
from gis.messages import catalogue
from layers.taxonomy import (
    KINDS,
    OTHER_CODE,
    TAXONOMY_DIR,
    Taxonomy,
    default_taxonomy,
    normalise_name,
)


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return Taxonomy.load()


def test_categories_file_shape(tax: Taxonomy) -> None:
    cats = tax.categories
    assert 40 <= len(cats) <= 60
    assert set(cats["kind"]) == set(KINDS)
    assert set(cats["level"]) == {1, 2, 3}
    assert tax.name(OTHER_CODE, "zh") == "其他"
    # every child sits under its parent's code
    for code, parent in zip(cats["code"], cats["parent_code"], strict=True):
        if parent:
            assert code.startswith(parent) and len(code) == len(parent) + 2


def test_group_flag_is_robbery_snatching_theft_and_children(tax: Taxonomy) -> None:
    expected = tax.descendants("0101") | tax.descendants("0102") | tax.descendants("0103")
    assert tax.two_robberies_one_theft_codes() == expected
    assert {"010301", "010302", "010303", "010304", "010305"} <= expected
    assert "0104" not in expected  # fraud is not in the group
    assert list(tax.is_two_robberies_one_theft(["0101", "0104", "010301", "x"])) == [
        True,
        False,
        True,
        False,
    ]


def test_group_flag_comes_from_the_data(tmp_path: Path) -> None:
    # Editing the CSV changes the group: nothing is hard-coded.
    shutil.copytree(TAXONOMY_DIR, tmp_path / "tax")
    path = tmp_path / "tax" / "categories.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame["code"] == "0104", "group_two_robberies_one_theft"] = "true"
    frame.to_csv(path, index=False)
    assert "0104" in Taxonomy.load(tmp_path / "tax").two_robberies_one_theft_codes()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        # Chicago Primary Type
        ("ROBBERY", "0101"),
        ("THEFT", "0103"),
        ("BURGLARY", "010301"),
        ("MOTOR VEHICLE THEFT", "010303"),
        ("BATTERY", "0105"),
        ("ASSAULT", "0105"),
        ("CRIMINAL DAMAGE", "0107"),
        ("DECEPTIVE PRACTICE", "0104"),
        ("NARCOTICS", "0108"),
        ("VEHICULAR HIJACKING", "0101"),
        # San Francisco Category and robbery Descript variants
        ("VEHICLE THEFT", "010303"),
        ("LARCENY/THEFT", "0103"),
        ("ROBBERY ON THE STREET WITH A GUN", "0101"),
        ("ROBBERY, ARMED".replace(",", " -"), "0101"),
        # case and width do not matter
        ("robbery", "0101"),
        ("  Motor   Vehicle Theft ", "010303"),
        ("ＲＯＢＢＥＲＹ", "0101"),
        # Chinese names and synonyms
        ("入室盗窃", "010301"),
        ("偷窃", "0103"),
        ("抢包", "0102"),
        ("飞车抢夺", "010201"),
        ("电动车被盗", "010302"),
        # codes, also with the leading zero lost in a spreadsheet
        ("010301", "010301"),
        ("103", "0103"),
        ("snatching", "0102"),
    ],
)
def test_resolve_known_names(tax: Taxonomy, raw: str, code: str) -> None:
    codes, known = tax.resolve([raw])
    assert codes[0] == code
    assert known[0]


def test_resolve_unknown_goes_to_other(tax: Taxonomy) -> None:
    raw = ["两抢", "NO SUCH CRIME", "", None, float("nan"), "ROBBERY"]
    codes, known = tax.resolve(raw)
    assert list(codes) == [OTHER_CODE] * 5 + ["0101"]
    assert list(known) == [False] * 5 + [True]


def test_resolve_is_vectorised_and_keeps_order(tax: Taxonomy) -> None:
    raw = np.array(["THEFT", "BURGLARY", "x", "THEFT"] * 25_000, dtype=object)
    codes, known = tax.resolve(raw)
    assert codes.shape == (100_000,) and known.dtype == bool
    assert list(codes[:4]) == ["0103", "010301", OTHER_CODE, "0103"]
    assert known.sum() == 75_000
    empty_codes, empty_known = tax.resolve([])
    assert len(empty_codes) == 0 and len(empty_known) == 0


def test_every_mapping_row_resolves_to_its_code(tax: Taxonomy) -> None:
    codes, known = tax.resolve(tax.mapping["source_name"])
    assert known.all()
    assert list(codes) == list(tax.mapping["category_code"])


def test_expand(tax: Taxonomy) -> None:
    group = tax.two_robberies_one_theft_codes()
    assert tax.expand("两抢一盗") == group
    assert tax.expand(["two_robberies_one_theft"]) == group
    assert tax.expand(["盗窃"]) == tax.descendants("0103")
    assert tax.expand(["BURGLARY", "0101"]) == {"010301", "0101"}
    assert tax.expand("03") == {c for c in tax.codes if c.startswith("03")}
    with pytest.raises(ValidationError) as err:
        tax.expand(["两抢"])
    assert "两抢" in str(err.value)


def test_descendants_and_names(tax: Taxonomy) -> None:
    assert tax.descendants("010301") == {"010301"}
    assert tax.descendants("0103", include_self=False) >= {"010301", "010305"}
    assert tax.name("0102", "zh") == "抢夺"
    assert tax.name("0102", "en") == "snatching"
    assert tax.kind("0301") == "dispute"
    assert tax.parent("010301") == "0103"
    assert tax.parent("01") is None
    with pytest.raises(ValidationError):
        tax.name("7777")


def test_bad_files_are_reported_with_row(tmp_path: Path) -> None:
    folder = tmp_path / "tax"
    shutil.copytree(TAXONOMY_DIR, folder)
    with (folder / "foreign_mapping.csv").open("a", encoding="utf-8") as fh:
        fh.write("SOMETHING,0909,bad code\n")
    with pytest.raises(ValidationError) as err:
        Taxonomy.load(folder)
    assert "0909" in str(err.value) and "foreign_mapping.csv" in str(err.value)

    with pytest.raises(InputFileError):
        Taxonomy.load(tmp_path / "nowhere")


def test_messages_exist_in_both_languages() -> None:
    entries = {k: v for k, v in catalogue().items() if k.startswith("taxonomy.")}
    assert entries
    assert all(v["zh"] and v["en"] for v in entries.values())


def test_normalise_and_default() -> None:
    assert normalise_name("  Ａｂ   C ") == "ab c"
    assert normalise_name(None) == ""
    assert default_taxonomy() is default_taxonomy()
