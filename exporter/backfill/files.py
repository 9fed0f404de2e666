"""The backfill's own files, never trusted: created exclusively, never through a symbolic link.

The work directory ``OUTPUT.partial/`` and ``OUTPUT.tmp`` sit beside the output, often in a shared
directory: a link planted there must not make the backfill truncate or copy another file, and a
directory of another user must not be written into. Files are created with ``O_EXCL`` and
``O_NOFOLLOW``, readable by their owner only.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from exporter.errors import ExporterError

MODE = 0o600
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class UnsafeWorkdirError(ExporterError):
    """The work directory is a link, not a directory, or not the current user's."""


def create(path: Path, *, append: bool = False) -> BinaryIO:
    """A new file at ``path`` for writing; a file or link already there is an error, not a target."""
    fd = os.open(path, _CREATE | (os.O_APPEND if append else 0), MODE)
    return os.fdopen(fd, "ab" if append else "wb")


def replace_create(path: Path) -> BinaryIO:
    """:func:`create`, after removing what a crashed run may have left at ``path`` (a link itself,
    never what it points at)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return create(path)


def open_existing(path: Path, *, append: bool) -> BinaryIO:
    """An existing regular file of the work directory, for appending or for reading and cutting."""
    fd = os.open(path, (os.O_WRONLY | os.O_APPEND if append else os.O_RDWR) | os.O_NOFOLLOW)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return os.fdopen(fd, "ab" if append else "r+b")


def check_workdir(directory: Path) -> None:
    """Refuse a work directory that is a link, not a directory, or another user's; create it if missing."""
    try:
        info = directory.lstat()
    except FileNotFoundError:
        directory.mkdir(mode=0o700)
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeWorkdirError(f"{directory} is a symbolic link; remove it (the backfill makes its own)")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeWorkdirError(f"{directory} is not a directory; remove it or choose another --output")
    if info.st_uid != os.geteuid():
        raise UnsafeWorkdirError(
            f"{directory} belongs to another user (uid {info.st_uid}); remove it or choose another --output"
        )
