"""The run log: every choice an analysis makes, kept as a catalogue key and its parameters.

An analysis that decides something on the caller's behalf (a cell size, a band, which units
count, which test) records each decision in a :class:`RunLog`. The sentences are rendered from
the message catalogue when they are read, in Chinese or English, and :meth:`LogEntry.as_json`
is what a stored run keeps (``layers.analyses``; the dashboard and the CLI read ``zh`` and
``en`` from it).

>>> log = RunLog()
>>> log.say("emerging.log_trend", alpha=0.05)
>>> log[0].key
'emerging.log_trend'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gis.messages import Language, t

__all__ = ["LogEntry", "RunLog"]


@dataclass(frozen=True)
class LogEntry:
    """One choice of a run: a catalogue key and the parameters that fill its message."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, *, language: Language) -> str:
        """The entry in ``"zh"`` or ``"en"``."""
        return t(self.key, language=language, **self.params)

    @property
    def zh(self) -> str:
        """The entry in Chinese."""
        return self.text(language="zh")

    @property
    def en(self) -> str:
        """The entry in English."""
        return self.text(language="en")

    def as_json(self) -> dict[str, Any]:
        """``{"key", "params", "zh", "en"}``, as a stored run keeps it."""
        return {"key": self.key, "params": self.params, "zh": self.zh, "en": self.en}


class RunLog(list[LogEntry]):
    """The choices of one run, in order: a list of :class:`LogEntry`."""

    def say(self, key: str, /, **params: Any) -> None:
        """Add the entry ``key`` with ``params``."""
        self.append(LogEntry(key, params))

    def lines(self, *, language: Language = "zh") -> list[str]:
        """Every entry in ``"zh"`` or ``"en"``."""
        return [entry.text(language=language) for entry in self]
