"""Reading HTML, PDF, DOCX and EPUB: the seed articles written out by scripts/make_formats.py
(a news page around each, a paginated PDF, Word, an e-book) read back to the same text with
the right pages and sections; broken files are skipped in one line each, never with a
traceback, a hang or a damaged index."""

from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from rag.cli import main
from rag.index import store
from rag.ingest.extract import Extractor
from rag.ingest.layout import page_at, section_at
from rag.ingest.readers import format_of, read
from rag.ingest.readers.base import Unreadable

sys.path.insert(0, str(ROOT / "scripts"))
import make_formats  # noqa: E402

ARTICLES = make_formats.load_articles()


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def dossier(tmp_path_factory) -> Path:
    """One page per article, and every article in one dossier per document format."""
    out = tmp_path_factory.mktemp("dossier")
    make_formats.write_all(out, bundle=True)
    return out


def test_pdf_docx_and_epub_read_to_the_same_paragraphs(dossier):
    pdf, epub, docx = (read(dossier / f"dossier.{f}", f) for f in ("pdf", "epub", "docx"))
    expected = [
        p for a in ARTICLES for sub, paras in a.sections for p in ([a.title] if sub is None else [sub]) + list(paras)
    ]
    assert pdf.text.split("\n\n") == expected, "hard-wrapped PDF lines are put back into the paragraphs they were"
    assert epub.text == pdf.text, "EPUB chapters in spine order, not file-name order"
    table = docx.text.split("\n\n")[len(expected) :]
    assert docx.text.split("\n\n")[: len(expected)] == expected
    assert table[0] == "Übersicht der Artikel" and table[1] == "Artikel | Absätze"  # a table row per line


def test_pdf_pages_map_back_to_the_pages_the_text_is_on(dossier):
    import pypdfium2 as pdfium

    starts = make_formats.write_pdf(ARTICLES, dossier / "again.pdf")
    ex = read(dossier / "again.pdf", "pdf")
    for a in ARTICLES:  # each article starts a page
        assert page_at(ex.pages, ex.text.index(a.title)) == starts[a.name]
    doc = pdfium.PdfDocument(str(dossier / "again.pdf"))
    page_texts = [_norm(doc[i].get_textpage().get_text_range()) for i in range(len(doc))]
    paras = [p for a in ARTICLES for _, ps in a.sections for p in ps]
    for para in paras[::3]:
        page = page_at(ex.pages, ex.text.index(para))
        assert _norm(para)[:40] in page_texts[page - 1], "PDFium's own text of that page has the paragraph's start"
    assert "Seite 3" not in ex.text and make_formats.RUNNING_HEAD not in ex.text
    assert (ex.title, ex.author, ex.date) == ("Tagesblatt: Meta und Scale AI", make_formats.AUTHOR, "2025-06-13")


@pytest.mark.parametrize("fmt", ["docx", "epub"])
def test_sections_are_heading_paths(dossier, fmt):
    ex = read(dossier / f"dossier.{fmt}", fmt)
    for a in ARTICLES:
        for sub, paras in a.sections:
            where = section_at(ex.sections, ex.text.index(paras[-1]))
            assert where == a.section_of(paras[-1]) == (a.title if sub is None else f"{a.title} › {sub}")
    assert ex.title == "Tagesblatt: Meta und Scale AI" and ex.author == make_formats.AUTHOR
    assert ex.date == "2025-06-13"


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.name)
def test_news_page_reads_as_its_article(dossier, article):
    ex = read(dossier / f"{article.name}.html", "html")
    for _, paras in article.sections:
        # the seeds were scraped with some page debris in them ("Ad", "Mehr zum Thema:"),
        # which trafilatura rightly drops: the article is its sentences
        for p in (p for p in paras if len(p) > 40):
            assert p in ex.text
            assert section_at(ex.sections, ex.text.index(p)) == article.section_of(p)
    for what, text in make_formats.BOILERPLATE.items():
        assert text not in ex.text, f"the {what} was kept"
    assert "Alle akzeptieren" not in ex.text and "Lesen Sie auch" not in ex.text and "Kommentare" not in ex.text
    assert ex.title == article.title and ex.author == make_formats.AUTHOR and ex.date == "2025-06-13"


# --- files that push back ---------------------------------------------------------------------------------


def _broken_files(folder: Path, dossier: Path) -> dict[str, tuple[str, str]]:
    """Write one file of each kind of trouble; name -> (kind, words its warning must have)."""
    from fpdf import FPDF
    from PIL import Image

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 10, "Geheimer Text")
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.output(str(folder / "encrypted.pdf"))
    scan = FPDF()
    for _ in range(2):
        scan.add_page()
        scan.image(Image.effect_noise((120, 120), 40), x=10, y=10, w=120)
    scan.output(str(folder / "scanned.pdf"))
    whole = (dossier / "dossier.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    (folder / "truncated.docx").write_bytes((dossier / "dossier.docx").read_bytes()[:5000])
    with zipfile.ZipFile(folder / "renamed.docx", "w") as z:
        z.writestr("notes.txt", "Ein Zip-Archiv, kein Word-Dokument.")
    (folder / "app.html").write_text(
        "<html><head><title>App</title><script>var x = 1;</script></head>"
        '<body><div id="root"></div>'
        '<script>document.getElementById("root").innerText = "Hallo";</script></body></html>',
        encoding="utf-8",
    )
    (folder / "notizen.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    (folder / "leer.pdf").write_bytes(b"")
    return {
        "encrypted.pdf": ("encrypted", "password"),
        "scanned.pdf": ("no text layer", "OCR"),
        "truncated.pdf": ("damaged", "damaged"),
        "truncated.docx": ("damaged", "not a zip"),
        "renamed.docx": ("damaged", "not a Word document"),
        "app.html": ("no text", "only scripts"),
        "notizen.doc": ("not supported", "save it as .docx"),
        "leer.pdf": ("empty", "empty"),
    }


def test_every_broken_file_is_skipped_in_one_line_and_the_rest_indexed(dossier, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expected = _broken_files(corpus, dossier)
    good = corpus / "000_ed323026b9e620f8.html"
    good.write_bytes((dossier / good.name).read_bytes())
    idx = tmp_path / "idx"
    result = CliRunner().invoke(main, ["index", str(corpus), "--index", str(idx), "--json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    for name, (_, words) in expected.items():
        mine = [line for line in lines if f"{name}:" in line]
        assert len(mine) == 1 and mine[0].startswith("warning: skipped") and words in mine[0], (name, lines)
    report = json.loads(result.stdout)
    assert report["files"] == 1 and report["formats"] == {"html": 1}
    assert {s["source"].rsplit("/", 1)[-1]: s["kind"] for s in report["skipped"]} == {
        n: k for n, (k, _) in expected.items()
    }
    assert report["skipped_by_kind"]["damaged"] == 3


def test_the_summary_counts_formats_and_reasons(dossier, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _broken_files(corpus, dossier)
    for f in ("dossier.pdf", "dossier.epub", "000_ed323026b9e620f8.html"):
        (corpus / f).write_bytes((dossier / f).read_bytes())
    (corpus / "notiz.md").write_text("# Notiz\n\nDie Kantine öffnet um 11:30 Uhr.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(corpus), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("By format: ")
    for part in ("1 html", "1 pdf", "1 epub", "1 md", "Skipped 8:", "3 damaged", "1 encrypted", "1 no text layer"):
        assert part in summary, summary


def test_a_run_of_only_broken_files_fails_in_one_line_and_keeps_the_index(dossier, tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "001.html").write_bytes((dossier / "001_6b933f934256e5b5.html").read_bytes())
    _broken_files(bad, dossier)
    idx = tmp_path / "idx"
    assert CliRunner().invoke(main, ["index", str(good), "--index", str(idx)]).exit_code == 0
    before = (idx / "manifest.json").read_text()
    result = CliRunner().invoke(main, ["index", str(bad), "--index", str(idx)])
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: no readable") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert (idx / "manifest.json").read_text() == before
    assert store.load(idx).chunks, "the previous index still loads and answers"


def test_incremental_run_reuses_the_stored_text_and_rereads_a_changed_document(dossier, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in ("dossier.pdf", "dossier.docx"):
        (corpus / f).write_bytes((dossier / f).read_bytes())
    idx = tmp_path / "idx"
    run = CliRunner()
    assert run.invoke(main, ["index", str(corpus), "--index", str(idx)]).exit_code == 0
    second = run.invoke(main, ["index", str(corpus), "--index", str(idx), "--json"])
    assert json.loads(second.stdout)["unchanged"] == 2 and json.loads(second.stdout)["written"] is False
    (corpus / "dossier.docx").unlink()
    third = run.invoke(main, ["index", str(corpus), "--index", str(idx), "--json"])
    assert json.loads(third.stdout)["removed"] == 1 and json.loads(third.stdout)["embedded"] == 0
    index = store.load(idx)
    (source,) = index.documents
    text = index.text_of(source)
    assert text is not None and text == read(corpus / "dossier.pdf", "pdf").text
    for c in index.chunks:  # offsets are checkable against the stored text
        assert text[c.start : c.end] == c.text
    assert sorted(p.name for p in (idx / "texts").iterdir()) == [f"{index.documents[source].sha256}.txt"]


# --- the per-file time limit and crashing readers ------------------------------------------------------------


def hang(path: Path, fmt: str):
    """A reader stuck inside a library call (sleep stands in for a loop in C code)."""
    if path.name.startswith("slow"):
        time.sleep(600)
    return read(path, fmt)


def crash(path: Path, fmt: str):
    """A reader whose library kills the process (a segfault in C code)."""
    if path.name.startswith("crash"):
        os._exit(11)
    return read(path, fmt)


def test_a_file_over_the_time_limit_is_skipped_and_the_others_read(dossier, tmp_path):
    slow = tmp_path / "slow.pdf"
    slow.write_bytes((dossier / "dossier.pdf").read_bytes())
    jobs = [(slow, "pdf"), (dossier / "dossier.epub", "epub"), (dossier / "dossier.docx", "docx")]
    t0 = time.monotonic()
    results = Extractor(timeout=3, workers=2, reader=hang).read_all(jobs)
    assert time.monotonic() - t0 < 30, "the stuck reader was killed, not waited for"
    assert isinstance(results[0], Unreadable) and results[0].kind == "timed out"
    assert "RAG_READ_TIMEOUT" in results[0].reason
    assert not isinstance(results[1], Unreadable) and not isinstance(results[2], Unreadable)


def test_a_crashing_reader_costs_one_file(dossier, tmp_path):
    bad = tmp_path / "crash.pdf"
    bad.write_bytes((dossier / "dossier.pdf").read_bytes())
    jobs = [(bad, "pdf"), (dossier / "dossier.pdf", "pdf")]
    first, second = Extractor(timeout=60, workers=1, reader=crash).read_all(jobs)
    assert isinstance(first, Unreadable) and first.kind == "damaged" and "crashed" in first.reason
    assert not isinstance(second, Unreadable) and "Scale AI" in second.text


def test_the_time_limit_is_a_setting(dossier, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_formats.write_pdf(ARTICLES * 8, corpus / "long.pdf")  # ~100 pages
    (corpus / "kurz.txt").write_text("Ein kurzer Text über Kassel.\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["index", str(corpus), "--index", str(tmp_path / "idx")], env={"RAG_READ_TIMEOUT": "0"}
    )
    assert result.exit_code == 0, result.output
    assert "long.pdf: took longer than 0 s to read (RAG_READ_TIMEOUT)" in result.stderr


def test_readers_are_imported_only_when_needed():
    import subprocess

    code = (
        "import rag.cli.commands, rag.index.build, rag.app, sys; "
        "print(sorted(m for m in ('trafilatura', 'pypdfium2', 'docx', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "name, fmt",
    [("a.HTML", "html"), ("b.xhtml", "html"), ("c.Pdf", "pdf"), ("d.docx", "docx"), ("e.md", "text"), ("f.doc", None)],
)
def test_format_of(name, fmt):
    assert format_of(Path(name)) == fmt
