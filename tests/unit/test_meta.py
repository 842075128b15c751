"""Meta-tests that keep the project honest: messages, settings, architecture."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gis.messages import LANGUAGES, both, catalogue, set_language, t
from gis.settings import Settings, documented_settings

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("gis", "analysis", "layers", "dashboard", "pingan")
# A catalogue key as code writes it: a quoted "domain.name" passed to a message function, an
# error or a run log (``log.say``, ``LogEntry``).
_KEY_USE = re.compile(
    r"""(?:\bt|both|Error|RowIssue|_finding|table|progress_bar|say|LogEntry)\(\s*f?["']([a-z_]+\.[a-z0-9_.{}]+)["']"""
)


def test_every_message_has_both_languages() -> None:
    entries = catalogue()
    assert len(entries) > 100
    missing = [
        key for key, entry in entries.items() if not all(entry[lang].strip() for lang in LANGUAGES)
    ]
    assert missing == []


def test_every_message_key_used_in_code_exists() -> None:
    keys = set(catalogue())
    unknown = []
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for key in _KEY_USE.findall(path.read_text(encoding="utf-8")):
                if "{" in key:  # an f-string key: checked by the families below
                    continue
                if key not in keys:
                    unknown.append(f"{path.relative_to(ROOT)}: {key}")
    assert unknown == []


def test_message_families_are_complete() -> None:
    keys = set(catalogue())
    for layer in (
        "admin_units",
        "grids",
        "grid_staff",
        "cameras",
        "places",
        "incidents",
        "roads",
        "patrol_teams",
        "quarantine",
    ):
        assert f"layer.{layer}" in keys


def test_language_switch() -> None:
    try:
        set_language("en")
        assert t("layer.grids") == "grids"
        set_language("zh")
        assert t("layer.grids") == "网格"
    finally:
        set_language("zh")
    assert both("layer.grids") == "网格 / grids"


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for env, _default, doc in documented_settings():
        assert f"`{env}`" in text, f"{env} is missing from docs/settings.md"
        assert doc in text, f"the doc of {env} in docs/settings.md is out of date"


def test_settings_parse_and_refuse() -> None:
    settings = Settings.from_env({"PINGAN_STORAGE_SRID": "EPSG:4326", "PINGAN_PORT": "6000"})
    assert settings.storage_srid == 4326
    assert settings.port == 6000
    for env, bad in (
        ("PINGAN_STORAGE_SRID", "3857"),
        ("PINGAN_PORT", "x"),
        ("PINGAN_TIMEZONE", "Mars/Base"),
    ):
        try:
            Settings.from_env({env: bad})
        except ValueError as exc:
            assert env in str(exc) or "3857" in str(exc)
        else:
            raise AssertionError(f"{env}={bad} was accepted")


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_reexports_the_derived_layers() -> None:
    """``layers`` lists the names of ``layers.analyses`` in its ``__all__`` (ruff wants both
    lists literal) and imports them on first use; the two lists must agree."""
    import layers
    import layers.analyses

    base = {name for name in layers.__all__ if name in vars(layers)}
    assert set(layers.__all__) - base == set(layers.analyses.__all__)
    assert layers.refresh_hotspots is layers.analyses.refresh_hotspots


def test_phone_masking() -> None:
    from layers.staff import mask_phone

    assert mask_phone("13912345678") == "139****5678"
    assert mask_phone("0571-8888") == "057**8888"
    assert mask_phone("110") == "***"
    assert mask_phone(None) is None


def test_every_gis_module_is_classified_for_analysis() -> None:
    """analysis may import only gis's pure helpers; every other gis module must be forbidden."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c.get("source_modules") == ["analysis"])
    pure = {"gis.crs", "gis._china_outline", "gis.h3cells", "gis.errors", "gis.messages"}
    modules = {f"gis.{p.stem}" for p in (ROOT / "gis").glob("*.py") if p.stem != "__init__"}
    unclassified = modules - pure - set(contract["forbidden_modules"])
    assert unclassified == set(), f"classify {sorted(unclassified)} for the analysis contract"
