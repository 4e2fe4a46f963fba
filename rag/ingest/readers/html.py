"""HTML and XHTML: the article, not the page around it.

trafilatura finds the main text of a saved web page and drops navigation, cookie banners,
teaser boxes, comment sections and footers (measured in scripts/bench_ingest.py; README:
Formats). Its output keeps headings, paragraphs, lists and tables, which walk() turns into
paragraphs and section paths. When trafilatura finds no article (a short page, a document
that is all content), the whole body is read, less script, style and navigation elements.
EPUB chapters (epub.py) are read with walk() directly: an e-book has no boilerplate.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.layout import TextBuilder, clean_inline
from rag.ingest.readers.base import Extracted, Unreadable

# Both vocabularies: HTML, and trafilatura's XML (head, item, quote, row, cell, lb).
HEADINGS = {f"h{i}": i for i in range(1, 7)}
BLOCKS = {
    "p", "li", "item", "blockquote", "quote", "pre", "dt", "dd", "figcaption", "caption",
    "div", "section", "article", "main", "body", "ul", "ol", "list", "dl", "table", "tbody",
    "thead", "tfoot", "tr", "row", "address", "aside", "header", "footer", "nav", "form",
    "fieldset", "details", "summary", "figure", "center", "hr", "title",
}  # fmt: skip
CELLS = {"td", "th", "cell"}
ROWS = {"tr", "row"}
BREAKS = {"br", "lb"}
NOT_TEXT = {"script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object", "button", "select"}
# boilerplate containers, dropped when the whole body is read (no article was found)
CHROME = {"nav", "header", "footer", "aside", "form", "menu"}


def _local(tag) -> str:
    """A tag without its namespace ({http://www.w3.org/1999/xhtml}p -> p); comments: ''."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _heading_level(el) -> int | None:
    tag = _local(el.tag)
    if tag in HEADINGS:
        return HEADINGS[tag]
    if tag == "head" and el.get("rend") is not None:  # trafilatura's <head rend="h2">; not HTML's <head>
        m = re.fullmatch(r"h([1-6])", el.get("rend", ""))
        return int(m.group(1)) if m else 2
    return None


class _Walker:
    def __init__(self, out: TextBuilder, skip: set[str]):
        self.out = out
        self.skip = skip
        self.buf: list[str] = []

    def flush(self) -> None:
        self.out.paragraph(clean_inline("".join(self.buf)))
        self.buf = []

    def walk(self, el) -> None:
        tag = _local(el.tag)
        level = _heading_level(el)
        if level is not None:
            self.flush()
            self.out.heading(level, "".join(el.itertext()))
            return
        if tag in self.skip or not tag:
            return
        if tag in BREAKS:
            self.buf.append(" ")
            return
        block = tag in BLOCKS
        if block:
            self.flush()
        if el.text:
            self.buf.append(el.text)
        cells = 0
        for child in el:
            if _local(child.tag) in CELLS:
                if cells:
                    self.buf.append(" | ")  # a table row is one line, cells apart
                cells += 1
                self.buf.extend(child.itertext())
            else:
                self.walk(child)
            if child.tail:
                self.buf.append(child.tail)
        if block:
            self.flush()


def walk(root, out: TextBuilder, skip: set[str] | None = None) -> None:
    """Append the text under `root` (an lxml element) to `out`: a paragraph per block
    element, headings as sections, a table row per line."""
    walker = _Walker(out, NOT_TEXT | (skip or set()))
    walker.walk(root)
    walker.flush()


def _body_text(tree) -> TextBuilder:
    out = TextBuilder()
    body = tree.find(".//{*}body")
    walk(body if body is not None else tree, out, CHROME)
    return out


def parse(data: bytes):
    """An lxml tree of HTML bytes, whatever their encoding (lxml reads the meta charset)."""
    import lxml.html

    try:
        return lxml.html.document_fromstring(data)
    except Exception as exc:  # lxml's ParserError and friends: an empty or non-HTML file
        raise Unreadable("no text", f"is not HTML that can be parsed ({exc})") from None


def read(path: Path) -> Extracted:
    data = path.read_bytes()
    if not data.strip():
        raise Unreadable("empty", "is empty")
    tree = parse(data)
    import trafilatura

    doc = trafilatura.bare_extraction(
        tree,
        include_comments=False,
        include_tables=True,
        include_formatting=True,
        with_metadata=True,
        deduplicate=False,
    )
    out = TextBuilder()
    body = getattr(doc, "body", None)  # a trafilatura Document, or None: no article found
    if body is not None:
        walk(body, out)
    if not out.text.strip():
        out = _body_text(parse(data))  # trafilatura took the tree apart: parse again
    if not out.text.strip():
        raise Unreadable(
            "no text",
            "has no readable text (only scripts or markup: a page saved before it rendered? "
            "save it again after it has loaded, or print it to PDF)",
        )
    title, author, date = (getattr(doc, name, None) for name in ("title", "author", "date"))
    if doc is None:
        found = tree.find(".//{*}title")
        title = clean_inline(found.text_content()) if found is not None else None
    return Extracted(out.text, (), tuple(out.sections), title or None, author or None, date or None)
