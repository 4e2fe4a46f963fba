"""Word .docx with python-docx (MIT): paragraphs and tables in document order, headings
("Heading N" and "Title" styles, or an outline level) as sections, core properties as
metadata."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from rag.ingest.layout import TextBuilder, clean_inline
from rag.ingest.readers.base import Extracted, Unreadable


def heading_level(style_name: str | None, outline_level: int | None = None) -> int | None:
    """The heading level a paragraph style stands for: "Heading 2" -> 2, "Title" -> 1,
    localised names too ("Überschrift 2"); else the paragraph's outline level (0-based)."""
    name = (style_name or "").strip().lower()
    if name == "title":
        return 1
    m = re.fullmatch(r"(?:heading|überschrift|titre|titolo|título|kop)\s*(\d)", name)
    if m:
        return int(m.group(1))
    if outline_level is not None and 0 <= outline_level < 9:
        return outline_level + 1
    return None


def _outline_level(paragraph) -> int | None:
    ppr = paragraph._p.pPr  # python-docx has no public accessor for w:outlineLvl
    if ppr is None:
        return None
    found = ppr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
    if found is None:
        return None
    value = found.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")
    return int(value) if value and value.isdigit() else None


def _open(path: Path):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise Unreadable("damaged", "is not a Word document (not a zip archive: truncated, or another format renamed)")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if z.testzip() is not None:
                raise Unreadable("damaged", "is damaged (a part of the archive fails its checksum)")
    except zipfile.BadZipFile as exc:
        raise Unreadable("damaged", f"is damaged ({exc})") from None
    if "word/document.xml" not in names:
        raise Unreadable("damaged", "is a zip archive but not a Word document (no word/document.xml)")
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise Unreadable("damaged", f"is damaged ({exc})") from None
    except Exception as exc:  # lxml's XMLSyntaxError on a broken part, and the like
        raise Unreadable("damaged", f"is damaged ({type(exc).__name__}: {exc})") from None


def read(path: Path) -> Extracted:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = _open(path)
    # style id -> name, once: python-docx's paragraph.style searches the style list on every
    # call, which made reading a long document 7 times slower than its text alone
    names = {st.style_id: st.name for st in document.styles if st.style_id}
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    out = TextBuilder()
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = clean_inline(block.text)
            style_id = block._p.style  # python-docx has no public accessor for the raw style id
            style = names.get(style_id) if style_id else (default.name if default is not None else None)
            level = heading_level(style, _outline_level(block))
            if level is not None and text:
                out.heading(level, text)
            else:
                out.paragraph(text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(clean_inline(c.text) for c in row.cells))  # merged cells repeat
                out.paragraph(" | ".join(c for c in cells if c))
    if not out.text.strip():
        raise Unreadable("no text", "has no text (only images or empty)")
    props = document.core_properties
    created = props.created.date().isoformat() if props.created else None
    return Extracted(
        out.text,
        (),
        tuple(out.sections),
        clean_inline(props.title or "") or None,
        clean_inline(props.author or "") or None,
        created,
    )
