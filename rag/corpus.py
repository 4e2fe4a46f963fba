"""Walk folders and read text files. What is not readable text is skipped with a reason."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError
from rag.types import Document

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def _display(path: Path) -> str:
    return path.as_posix()


def _walk(root: Path):
    """Files under root in a stable order; symlinked folders are followed once."""
    if root.is_file():
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


def read_document(path: Path) -> Document | Skipped:
    source = _display(path)
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return Skipped(source, f"not a {'/'.join(TEXT_SUFFIXES)} file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(source, f"cannot be read ({exc.strerror or exc})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(source, f"is not UTF-8 (byte {exc.start})")
    if "\x00" in text:
        return Skipped(source, "looks binary (contains NUL bytes)")
    if not text.strip():
        return Skipped(source, "is empty")
    return Document(source, text, hashlib.sha256(data).hexdigest())


def load_corpus(paths: list[Path]) -> tuple[list[Document], list[Skipped]]:
    docs: list[Document] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for root in paths:
        if not root.exists():
            raise CorpusError(f"{root} does not exist; pass a folder or file of .txt/.md articles")
        for path in _walk(root):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            item = read_document(path)
            (docs if isinstance(item, Document) else skipped).append(item)
    if not docs:
        where = ", ".join(str(p) for p in paths)
        raise CorpusError(f"no readable .txt or .md file in {where}; add UTF-8 text files and run rag index again")
    return docs, skipped
