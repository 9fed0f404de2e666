"""Has this file changed? One answer for every file the exporter re-reads while it runs.

Kubernetes updates a mounted Secret or ConfigMap by swapping a symlink, which changes the file's
identity and modification time without touching the old file: the stamp follows the links and
includes the inode, so a swap is seen even when the new file has the same size and time.
"""

from __future__ import annotations

import os
from pathlib import Path

#: (inode, modification time in nanoseconds, size).
Stamp = tuple[int, int, int]


def file_stamp(path: Path) -> Stamp:
    """What changes when ``path``'s content is replaced; raises OSError when it cannot be read."""
    stat = os.stat(path)  # follows symlinks
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def stamp_or_none(path: Path | None) -> Stamp | None:
    """:func:`file_stamp`, None for no path or a file that cannot be read (it is compared, not used)."""
    if path is None:
        return None
    try:
        return file_stamp(path)
    except OSError:
        return None
