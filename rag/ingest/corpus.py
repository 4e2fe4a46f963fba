"""Walk folders and take stock of the files to index: what each is, not what it says.

Every file gets its content hash (incremental indexing keys on the original bytes) and
its format from its suffix. Text files are also checked for how they decode (readers/text.py);
the document formats are read later, only when they changed (rag/ingest/extract.py). What
cannot be indexed is skipped with a reason and a short kind for the per-reason count.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.readers import SUPPORTED, UNSUPPORTED, format_of
from rag.ingest.readers import text as text_reader
from rag.ingest.readers.text import BLOCK_BYTES, MAX_CONTROL_SHARE, WINDOW_CHARS, sniff_encoding

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str
    kind: str = "unreadable"  # a short category: "not supported", "encrypted", "no text layer", ...


@dataclass(frozen=True)
class SourceFile:
    """A file to index: what it is, not what it says (see windows() and rag/ingest/extract.py)."""

    source: str  # the path as it was indexed, e.g. "seeds/004_a2122adb65b12522.txt"
    path: Path
    sha256: str
    encoding: str  # of a text file; "" for the document formats, which their readers decode
    chars: int  # of a text file; 0 for a document until it is read
    note: str | None = None  # e.g. read as Latin-1
    format: str = "text"  # "text" (.txt, .md) or a reader in rag/ingest/readers/


def _display(path: Path) -> str:
    return path.as_posix()


def _walk(root: Path):
    """Files under root in a stable order; symlinked folders are followed once."""
    if not root.is_dir():
        yield root
        return
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop: walked already
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def inspect_file(path: Path, max_bytes: int | None = None) -> SourceFile | Skipped:
    source = _display(path)
    fmt = format_of(path)
    if fmt is None:
        hint = UNSUPPORTED.get(path.suffix.lower())
        return Skipped(source, hint or f"not a {SUPPORTED} file", "not supported")
    try:
        size = path.stat().st_size
        if max_bytes and size > max_bytes:
            return Skipped(
                source,
                f"is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit; "
                "raise RAG_MAX_FILE_MB to index it",
                "too large",
            )
        if fmt != "text":
            if size == 0:
                return Skipped(source, "is empty", "empty")
            return SourceFile(source, path, _sha256(path), "", 0, format=fmt)
        with open(path, "rb") as f:
            head = f.read(65536)
        encoding = sniff_encoding(head)
        if encoding is None:
            return Skipped(source, "looks binary (contains NUL bytes)", "binary")
        note = None
        try:
            sha, chars, controls, content = text_reader.scan(path, encoding)
        except UnicodeDecodeError as exc:
            if not encoding.startswith("utf-8"):
                return Skipped(source, f"is not valid {encoding.upper()} (byte {exc.start})", "encoding")
            # Not UTF-8: most likely Windows-1252/Latin-1, which decodes any byte; the
            # control-character check below rejects binary that gets this far.
            encoding, note = "cp1252", "read as Latin-1 (Windows-1252), it is not UTF-8"
            try:
                sha, chars, controls, content = text_reader.scan(path, encoding)
            except UnicodeDecodeError:
                encoding = "latin-1"
                sha, chars, controls, content = text_reader.scan(path, encoding)
    except OSError as exc:
        return Skipped(source, f"cannot be read ({exc.strerror or exc})", "unreadable")
    if not content:
        return Skipped(source, "is empty", "empty")
    if controls > MAX_CONTROL_SHARE * chars:
        return Skipped(source, "looks binary (control characters), or is in an encoding rag does not read", "binary")
    return SourceFile(source, path, sha, encoding, chars, note)


def windows(sf: SourceFile, size: int = WINDOW_CHARS) -> Iterator[tuple[int, str]]:
    """A text file's text as (character offset, text) pieces (readers/text.py: windows)."""
    return text_reader.windows(sf.path, sf.encoding, size)


def scan_corpus(paths: list[Path], max_bytes: int | None = None) -> tuple[list[SourceFile], list[Skipped]]:
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for root in paths:
        if not os.path.lexists(root):
            raise CorpusError(f"{root} does not exist; pass a folder or file of articles ({SUPPORTED})")
        for path in _walk(root):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            item = inspect_file(path, max_bytes)
            if isinstance(item, SourceFile):
                files.append(item)
            else:
                skipped.append(item)
    if not files:
        raise CorpusError(no_readable_file(paths))
    return files, skipped


def no_readable_file(paths: list[Path], skipped: list[Skipped] | None = None) -> str:
    where = ", ".join(str(p) for p in paths)
    why = ""
    if skipped:
        why = f" ({len(skipped)} skipped: " + "; ".join(f"{s.source}: {s.reason}" for s in skipped[:3])
        why += ", ..." if len(skipped) > 3 else ""
        why += ")"
    return (
        f"no readable .txt or .md file, nor HTML, PDF, DOCX or EPUB, in {where}{why}; "
        "add articles and run rag index again"
    )
