"""Commands that run once with the exporter's configuration and exit, such as ``report``.

Each is a module with this shape, so that :mod:`exporter.cli` dispatches to it without knowing more.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Protocol

from exporter import PROG
from exporter.config import Config
from exporter.github.client import GitHubClient
from exporter.logs import redact


def complain(message: str) -> None:
    """One line on standard error, through the same masking as the log: reasons quote GitHub's
    answers, and an answer may echo a credential."""
    print(f"{PROG}: {redact(' '.join(message.split()))}", file=sys.stderr)


class Command(Protocol):
    #: One line for the list of commands in ``--help``.
    HELP: str
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The command's own flags, beside the configuration flags every command shares."""

    def check_config(self, config: Config) -> None:
        """Raise :class:`~exporter.errors.ConfigError` for a configuration the command cannot run with."""

    def run(self, config: Config, options: dict[str, Any], client: GitHubClient) -> int:
        """Run to completion and return the exit status; closes ``client``."""
