"""The README's questions over the seed articles as news pages, PDFs, Word files and e-books,
with the real embedder and model: the same answers as from the text files, citations to the
right page or section, and nothing of the page around an article retrievable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, ask_json

from rag.cli import main
from rag.index import store

sys.path.insert(0, str(ROOT / "scripts"))
import make_formats  # noqa: E402

pytestmark = pytest.mark.e2e
FORMATS = ("html", "pdf", "docx", "epub")
ARTICLES = {a.name: a for a in make_formats.load_articles()}
QUESTIONS = [
    "Wer wird Interims-CEO von Scale AI?",
    "Wie viel Geld investiert Meta in Scale AI?",
    "Wo wurde Alexandr Wang geboren?",
    "Wie viele Mitarbeiter beschäftigt Scale AI?",
    "Who becomes interim CEO of Scale AI?",
    "Mit welchem Wert wird Scale AI durch den Einstieg von Meta bewertet?",
]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory) -> dict[str, Path]:
    """Each seed article as a file of each format, one folder and index per format."""
    made = tmp_path_factory.mktemp("formats")
    make_formats.write_all(made / "all")
    out = {}
    for fmt in FORMATS:
        folder = made / fmt
        folder.mkdir()
        for f in (made / "all").glob(f"*.{fmt}"):
            f.rename(folder / f.name)
        out[fmt] = made / f"idx-{fmt}"
        result = CliRunner().invoke(main, ["index", str(folder), "--index", str(out[fmt])])
        assert result.exit_code == 0, result.output
        assert f"By format: 5 {fmt}." in result.stdout
    return out


def _page_texts(pdf: Path) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    return [" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.llm
def test_same_answer_as_from_text_with_citations_into_the_original(indexes, seeds_index, fmt, question):
    expected = ask_json(seeds_index, question)
    out = ask_json(indexes[fmt], question)
    assert out["answer"] == expected["answer"]
    assert [Path(c["source"]).stem for c in out["citations"]] == [Path(c["source"]).stem for c in expected["citations"]]
    index = store.load(indexes[fmt])
    for c in out["citations"]:
        text = index.text_of(c["source"])
        assert text is not None and text[c["start"] : c["end"]] == c["quote"], "offsets into the stored text"
        article = ARTICLES[Path(c["source"]).stem]
        if fmt == "pdf":
            page = c["page"]
            assert " ".join(c["quote"].split())[:40] in _page_texts(Path(c["source"]))[page - 1]
            assert "section" not in c
        else:
            assert c["section"] == article.section_of(c["quote"])
            assert "page" not in c
        assert c["title"] == (article.title if fmt == "html" else "Tagesblatt: Meta und Scale AI")


@pytest.mark.llm
def test_page_boilerplate_is_not_retrievable(indexes):
    chunks = store.load(indexes["html"]).chunks
    for what, text in make_formats.BOILERPLATE.items():
        assert not any(text in c.text for c in chunks), f"the {what} was indexed"
    assert not any("Cookie" in c.text or "Feuilleton" in c.text for c in chunks)
    for question in ("Was steht in den Cookie-Einstellungen?", "Seit wann arbeitet der Schwager bei der Bahn?"):
        out = ask_json(indexes["html"], question)
        assert not any("Cookie" in c["quote"] or "Schwager" in c["quote"] for c in out["citations"])
        assert "Schwager" not in out["answer"] and "Cookie" not in out["answer"]


@pytest.mark.llm
def test_terminal_sources_and_show_name_the_page(indexes):
    result = CliRunner().invoke(main, ["ask", "Wer wird Interims-CEO von Scale AI?", "--index", str(indexes["pdf"])])
    assert result.exit_code == 0, result.output
    source_line = next(line for line in result.stdout.splitlines() if line.startswith("[1] "))
    page = ask_json(indexes["pdf"], "Wer wird Interims-CEO von Scale AI?")["citations"][0]["page"]
    # the file name is a hash: the title says which article it is
    assert "004_a2122adb65b12522.pdf „Tagesblatt: Meta und Scale AI“" in source_line
    assert f" p. {page} (" in source_line
    chat = CliRunner().invoke(
        main,
        ["chat", "--index", str(indexes["pdf"]), "--plain"],
        input="Wer wird Interims-CEO von Scale AI?\n/show 1\n/quit\n",
    )
    assert chat.exit_code == 0, chat.output
    shown = next(line for line in chat.stdout.splitlines() if "[1] " in line and "(passage" in line)
    assert f" p. {page} (" in shown
    assert ">>>Ihn ersetzt der neue Interims-CEO Jason Droege" in chat.stdout
