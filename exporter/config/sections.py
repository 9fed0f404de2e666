"""What a data source's own configuration section is given to parse, and how it is looked up again.

The sources own their sections (``exporter/sources/<source>/config.py``): the registry of sources
(:mod:`exporter.sources.registry`) names each section, and :mod:`exporter.wiring` hands every one its
part of the file with the flags and environment. The parsed models live in :attr:`Config.sources`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from exporter.config.model import Config

T = TypeVar("T")


@dataclass(frozen=True)
class Given:
    """What one setting may come from, in order of precedence: a flag, the file, then a default."""

    flags: Mapping[str, Any]
    env: Mapping[str, str]
    #: Demo data is served: credentials named in the file are not read.
    demo: bool = False

    def value(self, flag: str, file_value: Any, default: Any) -> Any:
        given = self.flags.get(flag)
        if given is not None:
            return given
        return default if file_value is None else file_value


@dataclass(frozen=True)
class Section:
    """A top-level key of the file (or a few, see :attr:`top_level`) that one data source owns, and how to
    parse it."""

    name: str
    keys: tuple[str, ...]
    #: The section's mapping (keys checked, {} when absent) and the flags: the parsed, immutable model.
    parse: Callable[[Mapping[str, Any], Given], object]
    #: The keys are top-level keys of the file, not of a mapping under ``name`` (the seat source's,
    #: where users' files have always had them); ``parse`` is given those of them the file has.
    top_level: bool = False


def section_of(config: Config, name: str, model: type[T]) -> T:
    """The parsed section ``name`` of ``config``, or the model's defaults when it was never parsed."""
    found = config.sources.get(name)
    return found if isinstance(found, model) else model()
