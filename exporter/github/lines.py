"""Splitting a byte stream into lines in linear time, with a bound on the length of a line.

A line that arrives in many small segments is appended to one buffer and searched only from where
the last search stopped, so each byte is copied and scanned a bounded number of times whatever the
line's length. Runs of blank lines are skipped by one scan in C, without an object per line: a file of
nothing but newlines costs no more than a file of one long line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: White space between records: skipped as a whole, so blank lines make no line objects.
_BLANK = re.compile(rb"[ \t\r\n]*")


class LineTooLongError(ValueError):
    """A line grew past the bound before its end was seen."""


class LineSplitter:
    """Feed pieces of a stream, get back its non-blank lines (without their newline).

    ``work`` counts the bytes copied and scanned so far: linear in the bytes fed, whatever their shape
    (the tests hold it to that, since timing would not be a test).
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.work = 0
        self._buffer = bytearray()
        #: Bytes of the buffer known to hold no newline: the next search starts there.
        self._searched = 0
        #: Whether the buffer is at the start of a line, where blank runs are skipped.
        self._at_start = True

    def feed(self, piece: bytes) -> Iterator[bytes]:
        buffer = self._buffer
        buffer += piece
        self.work += len(piece)
        start = 0
        while True:
            if self._at_start:
                skipped = _BLANK.match(buffer, start)
                end = skipped.end() if skipped is not None else start
                self.work += end - start
                start = self._searched = end
                if start == len(buffer):
                    break
                self._at_start = False
            newline = buffer.find(b"\n", self._searched)
            self.work += (newline if newline >= 0 else len(buffer)) - self._searched
            if newline < 0:
                self._searched = len(buffer)
                break
            self.work += newline - start
            yield bytes(buffer[start:newline])
            start = newline + 1
            self._at_start = True
        if start:
            # What is left starts after a newline of this piece, so moving it is linear too.
            self.work += len(buffer) - start
            del buffer[:start]
            self._searched -= start
        if len(buffer) > self.max_line:
            raise LineTooLongError(f"a line longer than {self.max_line} bytes")

    def end(self) -> bytes | None:
        """The last line when the stream does not end in a newline; None when nothing is left."""
        rest = bytes(self._buffer).strip()
        self._buffer.clear()
        self._searched = 0
        return rest or None
