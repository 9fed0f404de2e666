"""Generate the Grafana dashboards in ``grafana/dashboards/`` from one description.

The JSON files are committed so that users can provision or import them without running anything;
the ``generator`` package beside this script is their source (one module per dashboard, shared panel
and query builders), so that every panel follows the same conventions (the datasource variable,
units, descriptions, links). After editing it run ``python grafana/generate.py``;
``python grafana/generate.py --check`` (run by the test suite) fails when the files are out of date.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from generator import render

OUT = Path(__file__).resolve().parent / "dashboards"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the committed files are out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python grafana/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
