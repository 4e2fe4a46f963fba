"""Citations -> where in the original they are: the PDF page, the section, the title.

Offsets stay what they are (into the text rag indexed); the document's map, kept with the
index (store.Index.documents), adds the page and section that offset falls in."""

from __future__ import annotations

from dataclasses import replace

from rag.index.store import Index
from rag.ingest.layout import page_at, section_at
from rag.types import Citation


def locate(index: Index, citations: list[Citation]) -> list[Citation]:
    located = []
    for c in citations:
        doc = index.documents.get(c.source)
        if doc is None:  # a text file without headings: its name and offsets say it all
            located.append(c)
            continue
        located.append(
            replace(c, page=page_at(doc.pages, c.start), section=section_at(doc.sections, c.start), title=doc.title)
        )
    return located
