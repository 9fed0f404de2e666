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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from exporter.errors import ExporterError

STATE_FILE = "state.json"
VERSION = 1


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
        with partial.open("w") as out:
            json.dump(asdict(self), out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)

    @classmethod
    def load(cls, directory: Path) -> RunState:
        path = directory / STATE_FILE
        try:
            raw = json.loads(path.read_text())
            if raw.get("version") != VERSION:
                raise ResumeError(f"{path}: written by another version of backfill; start afresh")
            failures = [Failure(**f) for f in raw.pop("failures")]
            return cls(**raw, failures=failures)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ResumeError(f"cannot resume from {path}: {exc}") from None


def open_state(directory: Path, options: dict[str, Any], first_day: str, *, resume: bool) -> RunState:
    """The state to start from: a fresh one, or with ``resume`` the saved one of the same options."""
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
