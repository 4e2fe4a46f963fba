"""Walk folders and read text files, streamed. What is not readable text is skipped with a reason.

A file is read twice, a block at a time and never whole: once to hash it and to find out how
it decodes (UTF-8, UTF-16, or Latin-1 as a last resort), then again, only when it has to be
chunked, as windows of text that end at paragraph breaks.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError

TEXT_SUFFIXES = (".txt", ".md")
BLOCK_BYTES = 1 << 20
WINDOW_CHARS = 1 << 22  # text handed to the chunker at a time
# control characters other than whitespace: more than this share means "not text"
MAX_CONTROL_SHARE = 0.005
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """A readable text file: what it is, not what it says (see windows())."""

    source: str  # the path as it was indexed, e.g. "seeds/004_a2122adb65b12522.txt"
    path: Path
    sha256: str
    encoding: str
    chars: int
    note: str | None = None  # e.g. read as Latin-1


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


def sniff_encoding(head: bytes) -> str | None:
    """The codec a file's first bytes point to; None when they look binary."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" not in head:
        return "utf-8"
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4:  # UTF-16 without a byte-order mark: every other byte is NUL
        if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def _scan(path: Path, encoding: str) -> tuple[str, int, int, bool]:
    """One streamed pass: sha256, characters, control characters, any non-space at all.
    Raises UnicodeDecodeError when the bytes are not in `encoding`."""
    digest, chars, controls, content = hashlib.sha256(), 0, 0, False
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with open(path, "rb") as f:
        while True:
            block = f.read(BLOCK_BYTES)
            digest.update(block)
            text = decoder.decode(block, final=not block)
            chars += len(text)
            controls += len(_CONTROL.findall(text))
            content = content or bool(text.strip())
            if not block:
                return digest.hexdigest(), chars, controls, content


def inspect_file(path: Path, max_bytes: int | None = None) -> SourceFile | Skipped:
    source = _display(path)
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return Skipped(source, f"not a {'/'.join(TEXT_SUFFIXES)} file")
    try:
        size = path.stat().st_size
        if max_bytes and size > max_bytes:
            return Skipped(
                source,
                f"is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit; "
                "raise RAG_MAX_FILE_MB to index it",
            )
        with open(path, "rb") as f:
            head = f.read(65536)
        encoding = sniff_encoding(head)
        if encoding is None:
            return Skipped(source, "looks binary (contains NUL bytes)")
        note = None
        try:
            sha, chars, controls, content = _scan(path, encoding)
        except UnicodeDecodeError as exc:
            if not encoding.startswith("utf-8"):
                return Skipped(source, f"is not valid {encoding.upper()} (byte {exc.start})")
            # Not UTF-8: most likely Windows-1252/Latin-1, which decodes any byte; the
            # control-character check below rejects binary that gets this far.
            encoding, note = "cp1252", "read as Latin-1 (Windows-1252), it is not UTF-8"
            try:
                sha, chars, controls, content = _scan(path, encoding)
            except UnicodeDecodeError:
                encoding = "latin-1"
                sha, chars, controls, content = _scan(path, encoding)
    except OSError as exc:
        return Skipped(source, f"cannot be read ({exc.strerror or exc})")
    if not content:
        return Skipped(source, "is empty")
    if controls > MAX_CONTROL_SHARE * chars:
        return Skipped(source, "looks binary (control characters), or is in an encoding rag does not read")
    return SourceFile(source, path, sha, encoding, chars, note)


def windows(sf: SourceFile, size: int = WINDOW_CHARS) -> Iterator[tuple[int, str]]:
    """The file's text as (character offset, text) pieces of about `size` characters,
    each ending at a paragraph break where there is one, so chunks never straddle two."""
    base, carry = 0, ""
    # newline="": offsets count "\r\n" as two characters, as the file has them
    with open(sf.path, encoding=sf.encoding, newline="") as f:
        while True:
            block = f.read(size)
            text = carry + block
            if len(block) < size:  # end of file
                if text:
                    yield base, text
                return
            cut = _cut(text)
            yield base, text[:cut]
            base, carry = base + cut, text[cut:]


def _cut(text: str) -> int:
    """Where to end a window: the last paragraph break, else line end, sentence end, space."""
    floor = len(text) // 2
    for sep in ("\n\n", "\n", ". ", " "):
        at = text.rfind(sep, floor)
        if at >= 0:
            return at + len(sep)
    return len(text)


def scan_corpus(paths: list[Path], max_bytes: int | None = None) -> tuple[list[SourceFile], list[Skipped]]:
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for root in paths:
        if not os.path.lexists(root):
            raise CorpusError(f"{root} does not exist; pass a folder or file of .txt/.md articles")
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
        where = ", ".join(str(p) for p in paths)
        raise CorpusError(f"no readable .txt or .md file in {where}; add UTF-8 text files and run rag index again")
    return files, skipped
