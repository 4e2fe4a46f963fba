"""Plain text and Markdown, streamed: a file is read a block at a time and never whole.

A text file is read twice: once to hash it and to find out how it decodes (UTF-8, UTF-16,
or Latin-1 as a last resort; scan()), then again, only when it has to be chunked, as windows
of text that end at paragraph breaks (windows()). The text rag indexes is the file itself,
so a citation's offsets are checked against the file as decoded; nothing is stored beside
the index. Markdown's "#" headings give the sections (heading_sections()).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from rag.ingest.layout import SECTION_SEPARATOR, clean_inline, heading_path

BLOCK_BYTES = 1 << 20
WINDOW_CHARS = 1 << 22  # text handed to the chunker at a time
# control characters other than whitespace: more than this share means "not text"
MAX_CONTROL_SHARE = 0.005
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


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


def scan(path: Path, encoding: str) -> tuple[str, int, int, bool]:
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


def windows(path: Path, encoding: str, size: int = WINDOW_CHARS) -> Iterator[tuple[int, str]]:
    """The file's text as (character offset, text) pieces of about `size` characters,
    each ending at a paragraph break where there is one, so chunks never straddle two."""
    base, carry = 0, ""
    # newline="": offsets count "\r\n" as two characters, as the file has them
    with open(path, encoding=encoding, newline="") as f:
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


def heading_sections(
    text: str, base: int = 0, open_headings: list[tuple[int, str]] | None = None
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Markdown "#" headings in one window of text -> (offset, heading path) per section,
    and the headings still open at its end (the next window goes on from them)."""
    current = list(open_headings or [])
    sections = []
    for m in _ATX_HEADING.finditer(text):
        current = heading_path(current, len(m.group(1)), clean_inline(m.group(2)))
        sections.append((base + m.start(), SECTION_SEPARATOR.join(t for _, t in current)))
    return sections, current
