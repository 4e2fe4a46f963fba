"""What every reader returns: the text, the map back to the original, and metadata."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extracted:
    """A file's text as rag indexes it. Citations' offsets are into `text`."""

    text: str
    pages: tuple[int, ...] = ()  # pages[i]: offset where page i + 1 starts (PDF)
    sections: tuple[tuple[int, str], ...] = ()  # (offset, heading path) where each section starts
    title: str | None = None
    author: str | None = None
    date: str | None = None  # as the file gives it, ISO 8601 where it can be read as a date
    note: str | None = None  # read, but with a remark, e.g. some pages have no text layer


class Unreadable(Exception):
    """A file that cannot be indexed. kind: a short category for the per-reason count
    ("encrypted", "no text layer", "damaged", ...); reason: one line saying what to do."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def __reduce__(self):  # crosses the process boundary from the reading worker
        return (Unreadable, (self.kind, self.reason))
