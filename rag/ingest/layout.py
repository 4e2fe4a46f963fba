"""The map from extracted text back to the original: where each page and section starts.

A reader builds the text a paragraph at a time with TextBuilder, which records the character
offset at which every page (PDF) and every heading's section (HTML, DOCX, EPUB, Markdown)
begins. page_at and section_at read that map for a citation's offset. Both directions are
pure, so they are tested as tables.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

SECTION_SEPARATOR = " › "
PARAGRAPH_BREAK = "\n\n"


def page_at(pages: tuple[int, ...] | list[int], offset: int) -> int | None:
    """The 1-based page holding character `offset`; pages[i] is where page i + 1 starts.
    An empty page starts where the next one does, so the later page wins a tie."""
    if not pages or offset < pages[0]:
        return None
    return bisect.bisect_right(pages, offset)


def section_at(sections: tuple[tuple[int, str], ...] | list[tuple[int, str]], offset: int) -> str | None:
    """The heading path of the section holding `offset`; None before the first heading."""
    i = bisect.bisect_right([start for start, _ in sections], offset)
    return sections[i - 1][1] if i else None


def heading_path(open_headings: list[tuple[int, str]], level: int, title: str) -> list[tuple[int, str]]:
    """The headings in force after a heading of `level`: it closes every heading of its own
    level or deeper and nests inside the shallower ones (h1 > h3 without an h2 is fine)."""
    return [(lv, t) for lv, t in open_headings if lv < level] + [(level, title)]


def clean_inline(text: str) -> str:
    """One paragraph's text on one line: runs of whitespace (line breaks of the source
    markup, non-breaking spaces) become one space; soft hyphens and zero-width characters go."""
    text = re.sub(r"[\u00ad\u200b\u200c\u200d\ufeff]", "", text)
    return " ".join(text.split())


@dataclass
class TextBuilder:
    """Paragraphs joined by blank lines, with the page and section map kept alongside."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    pages: list[int] = field(default_factory=list)
    sections: list[tuple[int, str]] = field(default_factory=list)
    _open: list[tuple[int, str]] = field(default_factory=list)

    def _offset_of_next(self, continues: bool = False) -> int:
        """Where the next paragraph's first character will be."""
        if not self.parts:
            return 0
        return self.length + (1 if continues else len(PARAGRAPH_BREAK))

    def paragraph(self, text: str, continues: bool = False) -> None:
        """Add a paragraph (already cleaned). continues=True: it goes on the previous
        paragraph, cut by a page break, and is joined to it with a space."""
        if not text:
            return
        if self.parts:
            sep = " " if continues else PARAGRAPH_BREAK
            self.parts.append(sep)
            self.length += len(sep)
        self.parts.append(text)
        self.length += len(text)

    def heading(self, level: int, title: str) -> None:
        """A heading opens a section (its own text is part of it, so it can be found)."""
        title = clean_inline(title)
        if not title:
            return
        self._open = heading_path(self._open, level, title)
        self.section(SECTION_SEPARATOR.join(t for _, t in self._open))
        self.paragraph(title)

    def section(self, path: str) -> None:
        """Start a section here without adding text (an EPUB chapter's table-of-contents label)."""
        start = self._offset_of_next()
        if self.sections and self.sections[-1][0] == start:
            self.sections[-1] = (start, path)  # nothing was written under the previous one
        else:
            self.sections.append((start, path))

    def reset_headings(self, base: list[tuple[int, str]] | None = None) -> None:
        """Forget open headings (a new EPUB chapter starts its own path under `base`)."""
        self._open = list(base or [])

    def page(self, continues: bool = False) -> None:
        """The next paragraph starts a new page; continues=True: that paragraph will go on
        the previous page's last one (see paragraph())."""
        start = self._offset_of_next(continues)
        while self.pages and self.pages[-1] > start:  # an empty page before a continued one
            self.pages[-1] = start
        self.pages.append(start)

    @property
    def text(self) -> str:
        return "".join(self.parts)
