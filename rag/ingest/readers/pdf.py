"""PDF: the text layer, page by page, with pypdfium2 (PDFium, Apache-2.0/BSD-3).

Chosen over pypdf by measurement (README: Formats; scripts/bench_ingest.py): same text on
the test PDFs, many times faster, and it reads damaged files that pypdf gives up on.

A PDF's text comes as lines, hard-wrapped where the layout wrapped them. The lines are put
back into paragraphs (a line much shorter than the text width ends one; a word hyphenated at
a line end is joined), page numbers and running heads/feet are dropped, and a paragraph a
page break cut is joined again; the offset where each page starts is kept for citations.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rag.ingest.layout import TextBuilder, clean_inline
from rag.ingest.readers.base import Extracted, Unreadable

SHORT_LINE = 0.85  # of the column width: a body line ending before this ends its paragraph
PARAGRAPH_GAP = 1.25  # line spacing this many times the usual one starts a paragraph
HEADING_SIZE = 1.15  # a font this much larger than the body text's is a heading
SENTENCE_END = tuple('.!?:;“”"»«)')
PAGE_NUMBER = re.compile(r"(?i)(?:seite|page|s\.|p\.)?\s*[-–—]?\s*\d{1,4}\s*(?:(?:/|von|of)\s*\d{1,4})?\s*[-–—]?")
EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running heads/feet
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Line:
    """A line of text on a page, in PDF points (y grows upwards)."""

    text: str
    left: float
    right: float
    baseline: float
    size: float  # font size of a character in its middle


def running_lines(pages: list[list[str]]) -> set[str]:
    """Lines that repeat at the top or bottom of most pages (a running head, a footer with
    the page number), their digits replaced by '#' (see _shape)."""
    if len(pages) < 3:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        edge = [line for line in lines if line.strip()]
        seen.update({_shape(line) for line in edge[:EDGE_LINES] + edge[-EDGE_LINES:]})
    return {shape for shape, n in seen.items() if n >= max(3, len(pages) // 2)}


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()))


def strip_edges(lines: list[Line], running: set[str]) -> list[Line]:
    """A page's lines less page numbers and running lines at its top and bottom."""
    kept = [line for line in lines if line.text.strip()]

    def drop(line: Line) -> bool:
        return bool(PAGE_NUMBER.fullmatch(line.text.strip())) or _shape(line.text) in running

    while kept and drop(kept[0]):
        kept.pop(0)
    while kept and drop(kept[-1]):
        kept.pop()
    return kept


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if values else 0.0


def paragraphs(lines: list[Line], body_size: float, left_edge: float, right_edge: float) -> tuple[list[str], bool]:
    """A page's lines, top to bottom, -> paragraphs; and whether the last one runs on past
    the page (it ends in a full line without a sentence end). A paragraph ends at a short
    line, where the font size changes (a heading), and before wider spacing than the page's
    usual; a word hyphenated at the end of a line is joined."""
    spacing = [
        (a.baseline - b.baseline) / a.size
        for a, b in zip(lines, lines[1:])
        if a.size and abs(a.size - b.size) < 0.05 * a.size and a.baseline > b.baseline
    ]
    usual = _median(spacing) if spacing else 0.0
    full = left_edge + SHORT_LINE * (right_edge - left_edge)
    out: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        text = " ".join(line.text.split())
        if not current:
            current = text
        elif re.search(r"[a-zäöüß]-$", current) and text[:1].islower():
            current = current[:-1] + text  # a word hyphenated at the line end
        else:
            current = f"{current} {text}"
        if i + 1 == len(lines):
            break
        nxt = lines[i + 1]
        heading = line.size > HEADING_SIZE * body_size
        ends = (
            abs(nxt.size - line.size) > 0.05 * line.size  # heading <-> body text
            # the line ended early: the next line's first word would have fit after it (a
            # multi-line heading's lines are all short, and go on)
            or (not heading and line.right + 1.3 * _word_width(line, nxt) < right_edge)
            or (usual > 0 and line.size > 0 and (line.baseline - nxt.baseline) / line.size > PARAGRAPH_GAP * usual)
        )
        if ends:
            out.append(current)
            current = ""
    last = lines[-1] if lines else None
    runs_on = bool(current) and last is not None and last.right >= full and not current.endswith(SENTENCE_END)
    if current:
        out.append(current)
    return [clean_inline(p) for p in out if p.strip()], runs_on


def _word_width(line: Line, nxt: Line) -> float:
    """The width the next line's first word (and a space) would take on this line."""
    chars = len(line.text.strip()) or 1
    return (line.right - line.left) / chars * (len(nxt.text.split()[0]) + 1 if nxt.text.split() else 1)


def _lines(textpage) -> list[Line]:
    """The page's text as lines, each with its extent, and the baseline and font size of a
    character in its middle. PDFium's own text is split at the line breaks it puts in; its
    characters are indexed like that text, so a line's geometry costs a few calls whatever
    its length. Lines on one baseline (PDFium splits some at a change of font) are joined."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    n = textpage.count_chars()
    full = textpage.get_text_range(0, n) if n else ""
    if len(full) != n:  # characters outside the BMP shift the index: give up on the page's geometry
        return [Line(t, 0.0, 0.0, -i, 0.0) for i, t in enumerate(full.splitlines())]
    x, y = ctypes.c_double(), ctypes.c_double()
    lines: list[Line] = []
    for m in re.finditer(r"[^\r\n]+", full):
        raw = m.group()
        if not raw.strip():
            continue
        first = m.start() + len(raw) - len(raw.lstrip())
        last = m.end() - 1 - (len(raw) - len(raw.rstrip()))
        left, _, _, _ = textpage.get_charbox(first)
        _, _, right, _ = textpage.get_charbox(last)
        size, baseline = 0.0, 0.0
        middle = (first + last) // 2
        for i in (middle, middle + 1, middle - 1, first, last):  # a letter: a space may have no font
            if first <= i <= last and not full[i].isspace() and pdfium_c.FPDFText_GetCharOrigin(textpage.raw, i, x, y):
                size, baseline = pdfium_c.FPDFText_GetFontSize(textpage.raw, i), y.value
                break
        # PDFium marks a hyphen it found at a line end as \x02: a hyphen, for paragraphs() to join
        text = _CONTROL.sub("", re.sub(r"\x02\s*$", "-", raw.rstrip()))
        prev = lines[-1] if lines else None
        if prev and abs(prev.baseline - baseline) < 0.3 * max(size, 1.0) and left >= prev.right - 1:
            gap = " " if left - prev.right > 0.15 * max(size, 1.0) else ""
            lines[-1] = Line(f"{prev.text}{gap}{text.lstrip()}", prev.left, right, prev.baseline, prev.size)
        else:
            lines.append(Line(text, left, right, baseline, size))
    return lines


def pdf_date(raw: str | None) -> str | None:
    """'D:20250613081500+02'00'' -> '2025-06-13' (the day is what a reader cites)."""
    m = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", raw or "")
    if not m:
        return None
    try:
        return datetime(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)).date().isoformat()
    except ValueError:
        return None


def _open(path: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise Unreadable("encrypted", "is encrypted (password-protected): decrypt it first, e.g. qpdf") from None
        raise Unreadable("damaged", f"is damaged or not a PDF ({message.rstrip('.')})") from None


def page_lines(path: Path) -> tuple[list[list[Line]], dict]:
    """Each page's lines of text, and the document's metadata."""
    doc = _open(path)
    try:
        meta = doc.get_metadata_dict()
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            pages.append(_lines(textpage))
            textpage.close()
            page.close()
        return pages, meta
    finally:
        doc.close()


def read(path: Path) -> Extracted:
    pages, meta = page_lines(path)
    if not pages:
        raise Unreadable("empty", "has no pages")
    running = running_lines([[line.text for line in lines] for lines in pages])
    kept = [strip_edges(lines, running) for lines in pages]
    every = [line for lines in kept for line in lines]
    body_size = _median([line.size for line in every])
    # the text column: where most lines start and end (a heading or a short last line does not)
    left_edge = _median([line.left for line in every])
    right_edge = sorted(line.right for line in every)[int(0.9 * (len(every) - 1))] if every else 0.0
    out = TextBuilder()
    runs_on, empty = False, 0
    for lines in kept:
        paras, ends_open = paragraphs(lines, body_size, left_edge, right_edge) if lines else ([], False)
        if not paras:
            empty += 1
            out.page()
            runs_on = False
            continue
        out.page(continues=runs_on)
        for i, para in enumerate(paras):
            out.paragraph(para, continues=runs_on and i == 0)
        runs_on = ends_open
    if empty == len(pages):
        raise Unreadable("no text layer", "has no text layer (scanned?): OCR it first, e.g. with ocrmypdf")
    note = f"{empty} of {len(pages)} pages have no text layer (scanned?) and were left out" if empty else None
    return Extracted(
        out.text,
        tuple(out.pages),
        (),
        clean_inline(meta.get("Title") or "") or None,
        clean_inline(meta.get("Author") or "") or None,
        pdf_date(meta.get("CreationDate")),
        note,
    )
