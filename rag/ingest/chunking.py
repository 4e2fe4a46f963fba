"""Document -> Chunks with character offsets. Pure: text[chunk.start:chunk.end] == chunk.text.

Chunks are built from whole sentences. A chunk grows sentence by sentence up to `max_chars`;
when it has to stop, it stops at the last paragraph end if that keeps it at least half full,
so paragraphs stay together where they fit. Inside a paragraph, the next chunk repeats the
last sentences of the previous one (up to `overlap` characters) so a fact that needs two
neighbouring sentences is whole in at least one chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lang.text import sentence_spans
from rag.types import Chunk, Document


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    paragraph: int


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Blocks separated by blank lines; inside a block, each line that ends a sentence (or
    is a heading) closes a paragraph too. A line that ends mid-sentence and continues in
    lower case is a hard wrap and stays in its paragraph."""
    spans = []
    for block in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", text):
        start = block.start()
        for line in re.finditer(r"[^\n]*\n?", block.group()):
            if not line.group():
                continue
            line_end = block.start() + line.end()
            body = line.group().rstrip()
            nxt = text[line_end : line_end + 1]
            hard_wrap = body and body[-1] not in '.!?:“”"»«)' and nxt.islower()
            if not hard_wrap:
                spans.append((start, block.start() + line.start() + len(body)))
                start = line_end
        if start < block.end():
            spans.append((start, block.end()))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _units(text: str, max_chars: int) -> list[_Unit]:
    units = []
    for p, (ps, pe) in enumerate(paragraph_spans(text)):
        for s, e in sentence_spans(text, ps, pe):
            while e - s > max_chars:  # a "sentence" longer than a chunk: cut at a space
                cut = text.rfind(" ", s + max_chars // 2, s + max_chars)
                cut = cut if cut > s else s + max_chars
                units.append(_Unit(s, cut, p))
                s = cut
                while s < e and text[s].isspace():
                    s += 1
            if e > s:
                units.append(_Unit(s, e, p))
    return units


def chunk_document(doc: Document, max_chars: int = 800, overlap: int = 120) -> list[Chunk]:
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    text = doc.text
    units = _units(text, max_chars)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i + 1  # units[i:j] form the chunk
        while j < len(units) and units[j].end - units[i].start <= max_chars:
            j += 1
        if j < len(units):
            # Prefer to end at a paragraph boundary when that keeps the chunk half full.
            for b in range(j, i + 1, -1):
                if units[b - 1].paragraph != units[b].paragraph:
                    if units[b - 1].end - units[i].start >= max_chars // 2:
                        j = b
                    break
        start, end = units[i].start, units[j - 1].end
        chunks.append(Chunk(doc.source, start, end, text[start:end]))
        if j >= len(units):
            break
        # Overlap: step back over trailing sentences of the same paragraph.
        nxt = j
        while (
            nxt - 1 > i
            and units[nxt - 1].paragraph == units[j].paragraph
            and units[j - 1].end - units[nxt - 1].start <= overlap
        ):
            nxt -= 1
        i = nxt
    return chunks
