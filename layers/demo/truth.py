"""The planted ground truth of the demo county, written out as JSON next to the data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.messages import t


@dataclass
class DemoTruth:
    """The planted patterns an analysis of the demo county should find.

    Attributes
    ----------
    patterns
        One dict per pattern: ``name``, ``kind`` (``hotspot``, ``school_hotspot``,
        ``near_repeat``, ``emerging``, ``fading``), ``categories`` (taxonomy codes),
        ``centre_lon``/``centre_lat`` (EPSG:4490 degrees), ``radius_m`` (metres, local
        metric CRS), ``start``/``end`` (local dates, inclusive, ISO), ``hours`` (local hours
        of ``occurred_from``), ``weekdays`` (0 = Monday), ``place_source_id``/``place_name``,
        ``incident_ids`` (``source_id`` of the planted incidents) and ``description_zh`` /
        ``description_en``. The near-repeat pattern adds ``near_repeat_m``,
        ``near_repeat_days`` and ``pairs`` ([earlier id, follow-up id], …).
    seed, end, small
        How the county was built.
    """

    patterns: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    end: str = ""
    small: bool = False

    def by_name(self, name: str) -> dict[str, Any]:
        """Return the pattern called ``name``."""
        for p in self.patterns:
            if p["name"] == name:
                return p
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """The truth as plain JSON-ready data, marked ``demo: true``."""
        return {
            "demo": True,
            "note_zh": t("demo.truth_note", language="zh"),
            "note_en": t("demo.truth_note", language="en"),
            "seed": self.seed,
            "end": self.end,
            "small": self.small,
            "patterns": self.patterns,
        }

    def to_json(self) -> str:
        """The truth as indented UTF-8 JSON text."""
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` (a file, or a folder to hold ``demo_truth.json``)."""
        target = Path(path)
        if target.is_dir():
            target = target / "demo_truth.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target
