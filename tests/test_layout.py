"""The pure parts of reading documents, as tables: the page and section map, PDF lines to
paragraphs, running heads, heading levels, and how a located citation is shown."""

from __future__ import annotations

import pytest

from rag.cli.render import citation_ref, readable_name
from rag.ingest.layout import TextBuilder, heading_path, page_at, section_at
from rag.ingest.readers.docx import heading_level
from rag.ingest.readers.pdf import Line, paragraphs, pdf_date, running_lines, strip_edges
from rag.ingest.readers.text import heading_sections
from rag.types import Citation


@pytest.mark.parametrize(
    "pages, offset, page",
    [
        ((0, 100, 250), 0, 1),
        ((0, 100, 250), 99, 1),
        ((0, 100, 250), 100, 2),
        ((0, 100, 250), 10_000, 3),
        ((0, 100, 100, 250), 120, 3),  # page 2 is empty: its start is page 3's
        ((), 5, None),  # no page map: not a PDF
        ((10,), 3, None),  # before the first page's text
    ],
)
def test_page_at(pages, offset, page):
    assert page_at(pages, offset) == page


SECTIONS = ((0, "A"), (50, "A › B"), (90, "C"))


@pytest.mark.parametrize(
    "sections, offset, section",
    [(SECTIONS, 0, "A"), (SECTIONS, 49, "A"), (SECTIONS, 50, "A › B"), (SECTIONS, 500, "C"), (((10, "A"),), 3, None)],
)
def test_section_at(sections, offset, section):
    assert section_at(sections, offset) == section


@pytest.mark.parametrize(
    "open_headings, level, title, expected",
    [
        ([], 1, "A", [(1, "A")]),
        ([(1, "A")], 2, "B", [(1, "A"), (2, "B")]),
        ([(1, "A"), (2, "B")], 2, "C", [(1, "A"), (2, "C")]),  # a sibling replaces
        ([(1, "A"), (2, "B"), (3, "x")], 1, "D", [(1, "D")]),  # a new top heading closes all
        ([(1, "A")], 3, "E", [(1, "A"), (3, "E")]),  # a skipped level nests anyway
    ],
)
def test_heading_path(open_headings, level, title, expected):
    assert heading_path(open_headings, level, title) == expected


def test_text_builder_keeps_pages_and_sections_in_step_with_the_text():
    out = TextBuilder()
    out.page()
    out.heading(1, "Titel")
    out.paragraph("Erster Absatz, der auf der nächsten Seite")
    out.page(continues=True)
    out.paragraph("weitergeht.", continues=True)
    out.heading(2, "Teil 2")
    out.paragraph("Zweiter Absatz.")
    out.page()  # an empty page
    out.page()
    out.paragraph("Dritter Absatz.")
    text = out.text
    assert text == (
        "Titel\n\nErster Absatz, der auf der nächsten Seite weitergeht.\n\nTeil 2\n\nZweiter Absatz.\n\nDritter Absatz."
    )
    assert page_at(out.pages, text.index("weitergeht")) == 2
    assert page_at(out.pages, text.index("Zweiter")) == 2
    assert page_at(out.pages, text.index("Dritter")) == 4
    assert section_at(out.sections, text.index("Erster")) == "Titel"
    assert section_at(out.sections, text.index("Zweiter")) == "Titel › Teil 2"


def _lines(*rows):
    """(text, right edge, baseline, size) rows -> Lines starting at x = 50."""
    return [Line(t, 50.0, right, base, size) for t, right, base, size in rows]


@pytest.mark.parametrize(
    "lines, expected, runs_on",
    [
        (  # a hard-wrapped paragraph, a short last line, a second paragraph
            _lines(
                ("Meta investiert 14,3 Milliarden", 500, 700, 10),
                ("Dollar in das Start-up.", 300, 686, 10),
                ("Wang wechselt zu Meta.", 290, 672, 10),
            ),
            ["Meta investiert 14,3 Milliarden Dollar in das Start-up.", "Wang wechselt zu Meta."],
            False,
        ),
        (  # a word hyphenated at the line end; a lower-case line start is not a new paragraph
            _lines(("Das Unter-", 500, 700, 10), ("nehmen wächst.", 200, 686, 10)),
            ["Das Unternehmen wächst."],
            False,
        ),
        (  # a two-line heading (larger font), then body text
            _lines(
                ("Meta investiert in das KI-Unternehmen", 420, 720, 15),
                ("Scale", 120, 700, 15),
                ("Der Text beginnt hier und geht bis", 500, 676, 10),
            ),
            ["Meta investiert in das KI-Unternehmen Scale", "Der Text beginnt hier und geht bis"],
            True,  # a full last line without a sentence end: the paragraph goes on overleaf
        ),
        (  # wider spacing before a line starts a paragraph, even after a full line
            _lines(
                ("Ein Absatz endet mit einer vollen Zeile.", 500, 700, 10),
                ("Ein neuer Absatz.", 260, 680, 10),
                ("Noch eine Zeile.", 250, 666, 10),
                ("Und noch eine.", 240, 652, 10),
            ),
            ["Ein Absatz endet mit einer vollen Zeile.", "Ein neuer Absatz.", "Noch eine Zeile.", "Und noch eine."],
            False,
        ),
        (  # a short line whose next word would not have fit stays in its paragraph
            _lines(
                ("Zu seinen Kunden zählt die US-Regierung. Wangs", 440, 700, 10),
                ("Hauptaufgabe bei Meta wird es sein, die Entwicklung", 500, 686, 10),
                ("voranzutreiben.", 150, 672, 10),
            ),
            [
                "Zu seinen Kunden zählt die US-Regierung. Wangs Hauptaufgabe bei Meta wird es sein, "
                "die Entwicklung voranzutreiben."
            ],
            False,
        ),
    ],
)
def test_pdf_lines_become_paragraphs(lines, expected, runs_on):
    assert paragraphs(lines, 10.0, 50.0, 500.0) == (expected, runs_on)


def test_running_heads_and_page_numbers_are_dropped():
    body = ["Meta investiert.", "Wang wechselt.", "Droege folgt.", "Scale wächst."]
    pages = [
        _lines(
            ("Tagesblatt Dossier", 300, 800, 8), (text, 400, 700, 10), (text, 400, 686, 10), (f"Seite {n}", 300, 40, 8)
        )
        for n, text in enumerate(body, 1)
    ]
    running = running_lines([[line.text for line in lines] for lines in pages])
    assert [line.text for line in strip_edges(pages[2], running)] == ["Droege folgt.", "Droege folgt."]
    # a lone number at the foot is a page number even without repetition
    assert [line.text for line in strip_edges(_lines(("Ein Satz.", 300, 700, 10), ("17", 300, 40, 8)), set())] == [
        "Ein Satz."
    ]
    assert running_lines([["Kopf", "a"], ["Kopf", "b"]]) == set(), "two pages are too few to call a line running"


@pytest.mark.parametrize(
    "style, outline, level",
    [
        ("Heading 1", None, 1),
        ("Heading 3", None, 3),
        ("Title", None, 1),
        ("Überschrift 2", None, 2),
        ("Normal", None, None),
        ("Body Text", 1, 2),  # a custom style with an outline level is a heading too
        (None, None, None),
    ],
)
def test_docx_heading_level(style, outline, level):
    assert heading_level(style, outline) == level


def test_markdown_headings_give_sections_across_windows():
    text = "# Titel\n\nText.\n\n## Teil A\n\nMehr.\n"
    first, still_open = heading_sections(text)
    assert first == [(0, "Titel"), (text.index("## Teil A"), "Titel › Teil A")]
    text = "### Unterpunkt\n\nNoch.\n# Neu\n"
    second, _ = heading_sections(text, base=100, open_headings=still_open)
    assert second == [(100, "Titel › Teil A › Unterpunkt"), (100 + text.index("# Neu"), "Neu")]


@pytest.mark.parametrize(
    "raw, date",
    [
        ("D:20250613081500+02'00'", "2025-06-13"),
        ("D:2024", "2024-01-01"),
        ("", None),
        (None, None),
        ("D:20251399", None),
    ],
)
def test_pdf_date(raw, date):
    assert pdf_date(raw) == date


@pytest.mark.parametrize(
    "source, readable",
    [
        ("seeds/001_6b933f934256e5b5.pdf", False),
        ("articles/dossier.pdf", True),
        ("0042.html", False),
        ("scan_2024-05-01.pdf", True),
    ],
)
def test_readable_name(source, readable):
    assert readable_name(source) is readable


@pytest.mark.parametrize(
    "citation, shown",
    [
        (Citation(1, "/x/a.txt", 5, 9, "q"), "/x/a.txt:5-9"),
        (Citation(1, "/x/dossier.pdf", 5, 9, "q", page=3, title="Dossier"), "/x/dossier.pdf p. 3 (5-9)"),
        (Citation(1, "/x/0001.pdf", 5, 9, "q", page=3, title="Dossier"), "/x/0001.pdf „Dossier“ p. 3 (5-9)"),
        (
            Citation(1, "/x/page.html", 5, 9, "q", section="Titel › Teil 2", title="Titel"),
            "/x/page.html § Titel › Teil 2 (5-9)",
        ),
        # the section names the title already: not twice
        (
            Citation(1, "/x/0001.html", 5, 9, "q", section="Titel › Teil 2", title="Titel"),
            "/x/0001.html § Titel › Teil 2 (5-9)",
        ),
    ],
)
def test_citation_ref(citation, shown):
    assert citation_ref(citation) == shown


def test_citation_json_has_location_members_only_where_known():
    assert set(Citation(1, "a.txt", 0, 1, "q").to_json()) == {"id", "source", "start", "end", "quote"}
    located = Citation(1, "a.pdf", 0, 1, "q", page=2, title="T").to_json()
    assert located["page"] == 2 and located["title"] == "T" and "section" not in located
