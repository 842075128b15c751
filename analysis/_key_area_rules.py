"""The key-area rules (``data/key_areas.toml``): which incidents count, how place zones are
tested, and how many incidents make a key area (:mod:`analysis.key_areas` applies them).

Distances are in metres, measured in the local metric CRS of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis._incidents import CategorySelection
from analysis._rulefile import bad_entry, read_rule_file
from analysis._significance import CORRECTIONS

__all__ = [
    "RULES_FILE",
    "AreaRule",
    "KeyAreaRules",
    "PlaceRule",
    "TestSettings",
    "load_rules",
]

RULES_FILE = Path(__file__).resolve().parents[1] / "data" / "key_areas.toml"
EXPOSURES = ("population", "area")
ZONE_SHAPES = ("discs", "rings")


@dataclass(frozen=True)
class TestSettings:
    """How place zones are tested (``[test]`` of the rules file)."""

    alpha: float = 0.05
    correction: str = "bh"
    exposure: str = "population"
    zones: str = "discs"
    min_observed: int = 3
    min_ratio: float = 1.5


@dataclass(frozen=True)
class PlaceRule:
    """Zones around places of some kinds, tested against the area's rate."""

    code: str
    reason: str
    kinds: tuple[str, ...]
    distances_m: tuple[float, ...]
    selection: CategorySelection
    near_kinds: tuple[str, ...] = ()
    near_m: float = 0.0


@dataclass(frozen=True)
class AreaRule:
    """The hot-cell or cluster rule: which incidents count and how many make a key area."""

    code: str
    reason: str
    selection: CategorySelection
    min_incidents: int = 5
    min_bin: int = 2
    merge_gap_m: float = 1.0


@dataclass(frozen=True)
class KeyAreaRules:
    """All key-area rules; build with :func:`load_rules`."""

    test: TestSettings
    hot_cells: AreaRule
    clusters: AreaRule
    places: tuple[PlaceRule, ...]


def _area_rule(entry: dict[str, Any], path: Path, name: str) -> AreaRule:
    rule = AreaRule(
        code=str(entry.get("code", name)),
        reason=str(entry.get("reason", f"key_areas.reason_{name}")),
        selection=CategorySelection.from_config(entry),
        min_incidents=int(entry.get("min_incidents", 5)),
        min_bin=int(entry.get("min_bin", 2)),
        merge_gap_m=float(entry.get("merge_gap_m", 1.0)),
    )
    if rule.min_bin not in (1, 2, 3):
        raise bad_entry(path, f"{name}.min_bin", rule.min_bin, "1, 2 or 3")
    return rule


def load_rules(path: str | Path | None = None) -> KeyAreaRules:
    """Read the key-area rules.

    Parameters
    ----------
    path
        A TOML file laid out as ``data/key_areas.toml`` (the default).

    Raises
    ------
    gis.errors.InputFileError
        The file is missing or is not TOML.
    gis.errors.ValidationError
        A setting has a value outside its allowed set.
    """
    source, config = read_rule_file(path, default=RULES_FILE)
    raw = config.get("test", {})
    test = TestSettings(
        alpha=float(raw.get("alpha", 0.05)),
        correction=str(raw.get("correction", "bh")),
        exposure=str(raw.get("exposure", "population")),
        zones=str(raw.get("zones", "discs")),
        min_observed=int(raw.get("min_observed", 3)),
        min_ratio=float(raw.get("min_ratio", 1.5)),
    )
    for name, value, allowed in (
        ("correction", test.correction, CORRECTIONS),
        ("exposure", test.exposure, EXPOSURES),
        ("zones", test.zones, ZONE_SHAPES),
    ):
        if value not in allowed:
            raise bad_entry(source, f"test.{name}", value, ", ".join(allowed))
    if not 0.0 < test.alpha < 1.0:
        raise bad_entry(source, "test.alpha", test.alpha, "0 < alpha < 1")
    places = []
    for i, entry in enumerate(config.get("places", [])):
        distances = tuple(sorted(float(d) for d in entry.get("distances_m", ())))
        if not distances or distances[0] <= 0:
            raise bad_entry(source, f"places[{i}].distances_m", distances, "positive metres")
        places.append(
            PlaceRule(
                code=str(entry["code"]),
                reason=str(entry.get("reason", "key_areas.reason_place")),
                kinds=tuple(str(k) for k in entry.get("kinds", ())),
                distances_m=distances,
                selection=CategorySelection.from_config(entry),
                near_kinds=tuple(str(k) for k in entry.get("near_kinds", ())),
                near_m=float(entry.get("near_m", 0.0)),
            )
        )
    return KeyAreaRules(
        test=test,
        hot_cells=_area_rule(config.get("hot_cells", {}), source, "hot_cells"),
        clusters=_area_rule(config.get("clusters", {}), source, "clusters"),
        places=tuple(places),
    )
