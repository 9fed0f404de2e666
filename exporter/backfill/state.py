"""What a run has done so far, saved after every day so that ``--resume`` continues where it stopped.

The state lives beside the family files in the work directory ``OUTPUT.partial/``. It names the
options the run was started with: resuming with others would mix two different backfills in one
file. Days are done in order, and samples of one series must stay in time order for promtool (it
drops an older sample after a newer one without a word), so the state is the next day to read, not a
set of days: a day that failed is reported for a run of its own rather than retried out of order.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from exporter.backfill.files import UnsafeWorkdirError, check_workdir, replace_create
from exporter.errors import ExporterError

STATE_FILE = "state.json"
VERSION = 1
#: The largest state file read: a state names some hundred families and a failure per target-day.
MAX_STATE_BYTES = 64 << 20
#: A family file is named after its metric family: never a path.
_FAMILY = re.compile(r"github_copilot_[a-z0-9_]{1,200}")
_FIELDS = {"options", "next_day", "sizes", "no_report", "samples", "days_done", "failures", "version"}
_FAILURE_FIELDS = {"day", "target", "source", "reason"}


class ResumeError(ExporterError):
    """The work directory cannot be resumed (or must not be overwritten); the message says what to do."""


@dataclass
class Failure:
    day: str
    target: str
    source: str
    reason: str


@dataclass
class RunState:
    #: The options of the run: a resumed run must have the same.
    options: dict[str, Any]
    #: The first day not written yet (ISO date).
    next_day: str
    #: Family file name -> length at the end of the last day written.
    sizes: dict[str, int] = field(default_factory=dict)
    #: (target, day) pairs without a usage report.
    no_report: int = 0
    samples: int = 0
    days_done: int = 0
    failures: list[Failure] = field(default_factory=list)
    version: int = VERSION

    def save(self, directory: Path) -> None:
        """Write atomically: a crash leaves the previous state or this one, never half of one."""
        path = directory / STATE_FILE
        partial = path.with_suffix(".tmp")
        with replace_create(partial) as out:
            out.write(json.dumps(asdict(self), indent=1, sort_keys=True).encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)

    @classmethod
    def load(cls, directory: Path) -> RunState:
        path = directory / STATE_FILE
        try:
            with path.open("rb") as source:
                text = source.read(MAX_STATE_BYTES + 1)
            if len(text) > MAX_STATE_BYTES:
                raise ValueError(f"larger than {MAX_STATE_BYTES} bytes")
            raw = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            raise ResumeError(
                f"cannot resume from {path}: {exc}; delete {directory} to start afresh"
            ) from None
        if isinstance(raw, dict) and raw.get("version") != VERSION:
            raise ResumeError(f"{path}: written by another version of backfill; start afresh")
        problem = _invalid(raw)
        if problem:
            raise ResumeError(f"cannot resume from {path}: {problem}; delete {directory} to start afresh")
        failures = [Failure(**f) for f in raw.pop("failures")]
        return cls(**raw, failures=failures)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62


def _invalid(raw: Any) -> str:
    """What is wrong with a state read from disk, or "" when it has the shape :meth:`RunState.save` writes."""
    if not isinstance(raw, dict) or set(raw) != _FIELDS:
        return f"not a backfill state (it must have exactly the keys {', '.join(sorted(_FIELDS))})"
    if not isinstance(raw["options"], dict):
        return "options is not a mapping"
    try:
        if not isinstance(raw["next_day"], str) or len(raw["next_day"]) != 10:
            raise ValueError
        date.fromisoformat(raw["next_day"])
    except ValueError:
        return "next_day is not a date as YYYY-MM-DD"
    sizes = raw["sizes"]
    if not isinstance(sizes, dict):
        return "sizes is not a mapping"
    for name, size in sizes.items():
        if not _FAMILY.fullmatch(name):
            return f"sizes names {json.dumps(name)[:80]}, not a metric family of the backfill"
        if not _whole(size):
            return f"the size of {name} is not a whole number of bytes"
    for key in ("no_report", "samples", "days_done"):
        if not _whole(raw[key]):
            return f"{key} is not a whole number"
    failures = raw["failures"]
    if not isinstance(failures, list) or not all(
        isinstance(f, dict) and set(f) == _FAILURE_FIELDS and all(isinstance(v, str) for v in f.values())
        for f in failures
    ):
        return "failures is not a list of failures (day, target, source, reason)"
    return ""


def open_state(directory: Path, options: dict[str, Any], first_day: str, *, resume: bool) -> RunState:
    """The state to start from: a fresh one, or with ``resume`` the saved one of the same options.

    The work directory is created if missing, and refused when it is a link or another user's.
    """
    try:
        check_workdir(directory)
    except UnsafeWorkdirError as exc:
        raise ResumeError(str(exc)) from None
    except OSError as exc:
        raise ResumeError(f"cannot create {directory}: {exc.strerror}") from None
    exists = (directory / STATE_FILE).exists()
    if not resume:
        if directory.exists() and any(directory.iterdir()):
            raise ResumeError(
                f"{directory} holds an interrupted run: pass --resume to continue it, or delete it to start "
                "afresh"
            )
        return RunState(options=options, next_day=first_day)
    if not exists:
        raise ResumeError(f"nothing to resume: {directory / STATE_FILE} does not exist")
    state = RunState.load(directory)
    if state.options != options:
        changed = sorted(k for k in {*options, *state.options} if options.get(k) != state.options.get(k))
        raise ResumeError(
            f"--resume needs the options of the interrupted run; these differ: {', '.join(changed)}"
        )
    return state
