"""Background jobs of the dashboard: a thread per job, its state in a small JSON file.

Long work (a validation preview, an import) runs in a thread of the worker that received the
request, and the page polls the job's state with a ``dcc.Interval``. The state lives in a
file, not in memory, because ``pingan serve`` runs several gunicorn workers and the polling
request may reach another worker than the one running the job; a file in the session's
upload folder is seen by all of them, and needs no extra service (no Redis, no Celery).

A state file holds ``state`` (``running``, ``done`` or ``failed``), ``stage`` and
``fraction`` (0-1) for the progress bar, ``result`` (the job's JSON-ready return value) or
``error`` (``{"zh": ..., "en": ...}``), and the ``pid`` of the process running it: a job
whose process has gone (a worker restarted) is reported failed, not running forever.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gis.errors import PinganError
from gis.messages import Language, set_language, t

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
Work = Callable[[Progress], dict[str, Any]]

RUNNING, DONE, FAILED = "running", "done", "failed"


def _path(folder: Path, job_id: str) -> Path:
    if not job_id.isalnum():
        raise ValueError(f"job id must be alphanumeric, got {job_id!r}")
    return folder / f"job-{job_id}.json"


def _write(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file in one step, so a reader never sees half of it."""
    temporary = path.with_suffix(f".{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False, default=str), encoding="utf-8")
    temporary.replace(path)


def start(folder: Path, work: Work, *, language: Language, kind: str = "job") -> str:
    """Run ``work(progress)`` in a background thread and return the job's id.

    Parameters
    ----------
    folder
        Where the state file goes (the session's upload folder).
    work
        Called with a ``progress(stage, fraction)`` function; returns the JSON-ready result.
    language
        The language of the messages the work renders (its progress stages).
    kind
        A name for the thread and the log.
    """
    folder.mkdir(parents=True, exist_ok=True)
    job_id = uuid.uuid4().hex[:16]
    path = _path(folder, job_id)
    base = {"id": job_id, "kind": kind, "pid": os.getpid(), "started": time.time()}
    _write(path, {**base, "state": RUNNING, "stage": "", "fraction": 0.0})
    thread = threading.Thread(
        target=_run, args=(path, base, work, language), name=f"pingan-{kind}-{job_id}", daemon=True
    )
    thread.start()
    return job_id


def _run(path: Path, base: dict[str, Any], work: Work, language: Language) -> None:
    set_language(language)  # a new thread starts from the default language

    def progress(stage: str, fraction: float) -> None:
        _write(path, {**base, "state": RUNNING, "stage": stage, "fraction": float(fraction)})

    try:
        result = work(progress)
    except PinganError as exc:
        _write(path, {**base, "state": FAILED, "error": {"zh": exc.zh, "en": exc.en}})
    except Exception as exc:
        log.exception("background %s %s failed", base["kind"], base["id"])
        error = {
            lang: t(
                "dashboard.data.job_crashed", language=lang, error=f"{type(exc).__name__}: {exc}"
            )
            for lang in ("zh", "en")
        }
        _write(path, {**base, "state": FAILED, "error": error})
    else:
        _write(path, {**base, "state": DONE, "fraction": 1.0, "result": result})


def status(folder: Path, job_id: str) -> dict[str, Any] | None:
    """The job's state (see the module docstring), or ``None`` if there is no such job."""
    path = _path(folder, job_id)
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if state["state"] == RUNNING and not _alive(int(state["pid"])):
        error = {lang: t("dashboard.data.job_lost", language=lang) for lang in ("zh", "en")}
        state = {**state, "state": FAILED, "error": error}
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
