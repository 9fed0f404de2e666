"""The audit log of ``reclaim apply``: one JSON line per seat GitHub was asked to remove.

Each batch's lines are appended and flushed to disk before the next batch is sent, so that a run
stopped by a failure, a signal or a crash leaves a log of everything GitHub was asked, with its answer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from exporter.sources.seats.report import iso_time


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entries: Iterable[Mapping[str, Any]]) -> None:
        lines = "".join(json.dumps(dict(e), ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
        if not lines:
            return
        with self.path.open("a", encoding="utf-8") as out:
            out.write(lines)
            out.flush()
            os.fsync(out.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]


def entry(
    *, at: float, target: str, org: str, user: str, reason: str, plan_id: str, answer: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "time": iso_time(at),
        "target": target,
        "org": org,
        "login": user,
        "reason": reason,
        "plan_id": plan_id,
        "github": dict(answer),
    }
