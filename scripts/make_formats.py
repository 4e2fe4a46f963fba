#!/usr/bin/env python
"""Write articles out as the files people keep: news-style web pages (navigation, cookie
banner, teaser boxes, comments around the article), a multi-page PDF with a running head and
page numbers, a Word file and an EPUB. The tests build their fixtures with it and
scripts/bench_ingest.py its corpus; the README's PDF transcript was made from its output.

    python scripts/make_formats.py --out /tmp/seeds-formats            # seeds/ in every format
    python scripts/make_formats.py --out DIR --bundle                  # ... one dossier per format
    python scripts/make_formats.py --out DIR --formats pdf --copies 20 # longer PDFs

The PDF writer (fpdf2) is a test dependency (pip install -e '.[test]'); rag reads PDFs
with pypdfium2.
"""

from __future__ import annotations

import argparse
import html
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SITE = "Tagesblatt"
AUTHOR = "Redaktion Tagesblatt"
DATE = datetime(2025, 6, 13, 8, 0, tzinfo=timezone.utc)
RUNNING_HEAD = f"{SITE} Dossier: Meta und Scale AI"
# The page around an article: none of these words is in the articles, so a test can
# check that none of them was indexed.
BOILERPLATE = {
    "cookie banner": "Wir verwenden Cookies, um Ihnen ein optimales Nutzererlebnis zu bieten. "
    "Mit Klick auf Alle akzeptieren stimmen Sie der Verarbeitung zu.",
    "cookie link": "Cookie-Einstellungen",
    "menu": "Feuilleton",
    "menu 2": "Abo-Angebote",
    "teaser": "Wie Tesla seine Batteriefabrik in Grünheide erweitert",
    "comment": "Mein Schwager arbeitet seit 1998 bei der Bahn und hält das alles für eine Blase.",
    "sidebar": "Zehn Tipps für den Gemüsegarten im Herbst",
    "footer": "Impressum · Datenschutz · Kontakt",
}
SECTION_EVERY = 3  # paragraphs per subheading


@dataclass(frozen=True)
class Article:
    name: str  # the seed's file stem
    title: str
    sections: tuple[tuple[str | None, tuple[str, ...]], ...]  # (subheading, paragraphs)

    def section_of(self, fact: str) -> str:
        """The heading path of the paragraph that states `fact`, as the readers give it."""
        for sub, paras in self.sections:
            if any(fact in p for p in paras):
                return self.title if sub is None else f"{self.title} › {sub}"
        raise KeyError(fact)


def load_articles(folder: Path = SEEDS) -> list[Article]:
    """Each text file as an article: a short first line without a full stop is its title
    (else one is made from its first words); subheadings every few paragraphs."""
    articles = []
    for i, path in enumerate(sorted(folder.glob("*.txt"))):
        paras = [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(paras[0]) < 150 and not paras[0].endswith("."):
            title, paras = paras[0], paras[1:]
        else:
            title = f"Bericht {i + 1}: " + " ".join(paras[0].split()[:6]).rstrip(",.:;")
        sections: list[tuple[str | None, tuple[str, ...]]] = []
        for k in range(0, len(paras), SECTION_EVERY):
            sections.append((None if k == 0 else f"Teil {k // SECTION_EVERY + 1}", tuple(paras[k : k + SECTION_EVERY])))
        articles.append(Article(path.stem, title, tuple(sections)))
    return articles


def _paras_html(article: Article, teaser: str) -> str:
    parts = [f"<h1>{html.escape(article.title)}</h1>", f'<p class="byline">Von {AUTHOR} · 13.06.2025</p>']
    for n, (sub, paras) in enumerate(article.sections):
        if sub:
            parts.append(f"<h2>{html.escape(sub)}</h2>")
        parts.extend(f"<p>{html.escape(p)}</p>" for p in paras)
        if n == 0:  # a teaser box inside the article, as news sites place them
            link = f'<a href="/technik/tesla">{html.escape(teaser)}</a>'
            parts.append(f'<aside class="teaser"><h3>Lesen Sie auch</h3>{link}</aside>')
    return "\n".join(parts)


def news_page(article: Article) -> str:
    b = BOILERPLATE
    return f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8">
<title>{html.escape(article.title)} | {SITE}</title>
<meta name="author" content="{AUTHOR}">
<meta property="article:published_time" content="{DATE.isoformat()}">
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
<style>body {{ font-family: sans-serif; }} .cookie-consent {{ position: fixed; bottom: 0; }}</style>
</head><body>
<div id="cookie-banner" class="cookie-consent" role="dialog"><p>{b["cookie banner"]}</p>
<button>Alle akzeptieren</button> <a href="/datenschutz#cookies">{b["cookie link"]}</a></div>
<header><a class="logo" href="/">{SITE}</a><nav><ul>
<li><a href="/politik">Politik</a></li><li><a href="/wirtschaft">Wirtschaft</a></li>
<li><a href="/technik">Technik</a></li><li><a href="/feuilleton">{b["menu"]}</a></li>
<li><a href="/abo">{b["menu 2"]}</a></li></ul></nav></header>
<main><article>
{_paras_html(article, b["teaser"])}
</article>
<section id="comments" class="comments"><h2>Kommentare (2)</h2>
<div class="comment"><p class="comment-author">Leser_1974</p><p>{b["comment"]}</p></div>
<div class="comment"><p class="comment-author">kritischer_geist</p>
<p>Endlich berichtet mal jemand darüber, danke!</p></div>
</section></main>
<aside class="sidebar"><h3>Meistgelesen</h3><ul><li><a href="/garten">{b["sidebar"]}</a></li></ul></aside>
<footer><p>{b["footer"]} · <a href="/cookies">{b["cookie link"]}</a> · © 2025 {SITE}</p></footer>
<script src="/static/app.js"></script>
</body></html>
"""


def write_html(articles: list[Article], out: Path) -> list[Path]:
    paths = []
    for a in articles:
        path = out / f"{a.name}.html"
        path.write_text(news_page(a), encoding="utf-8")
        paths.append(path)
    return paths


def write_pdf(articles: list[Article], path: Path) -> dict[str, int]:
    """Articles in one A5 PDF, each from a new page, with a running head and page numbers;
    returns the page each article starts on."""
    from fpdf import FPDF

    class Paper(FPDF):
        def header(self):
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 5, RUNNING_HEAD, align="C")
            self.ln(8)

        def footer(self):
            self.set_y(-12)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 5, f"Seite {self.page_no()}", align="C")

    pdf = Paper(format=(148, 210))  # A5 in mm
    pdf.core_fonts_encoding = "windows-1252"  # „“ and – are in it; the standard fonts need no font file
    pdf.set_auto_page_break(True, 18)
    pdf.set_title(f"{SITE}: Meta und Scale AI")
    pdf.set_author(AUTHOR)
    pdf.set_creation_date(DATE)
    starts: dict[str, int] = {}
    for a in articles:
        pdf.add_page()
        starts.setdefault(a.name, pdf.page_no())
        pdf.set_font("Helvetica", "B", 15)
        pdf.multi_cell(0, 7, a.title)
        pdf.ln(3)
        for sub, paras in a.sections:
            if sub:
                pdf.set_font("Helvetica", "B", 12)
                pdf.multi_cell(0, 6, sub)
                pdf.ln(1)
            pdf.set_font("Helvetica", "", 10)
            for p in paras:
                pdf.multi_cell(0, 5, p)
                pdf.ln(2.5)
    pdf.output(str(path))
    return starts


def write_docx(articles: list[Article], path: Path) -> None:
    """One Word file: the articles under Heading 1, subheadings as Heading 2, and a table."""
    import docx

    d = docx.Document()
    d.core_properties.title = f"{SITE}: Meta und Scale AI"
    d.core_properties.author = AUTHOR
    d.core_properties.created = DATE.replace(tzinfo=None)
    for a in articles:
        d.add_heading(a.title, level=1)
        for sub, paras in a.sections:
            if sub:
                d.add_heading(sub, level=2)
            for p in paras:
                d.add_paragraph(p)
    d.add_heading("Übersicht der Artikel", level=1)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Artikel", "Absätze"
    for a in articles:
        row = table.add_row().cells
        row[0].text, row[1].text = a.title, str(sum(len(p) for _, p in a.sections))
    d.save(str(path))


def _chapter(article: Article) -> str:
    body = [f"<h1>{html.escape(article.title)}</h1>"]
    for sub, paras in article.sections:
        if sub:
            body.append(f"<h2>{html.escape(sub)}</h2>")
        body.extend(f"<p>{html.escape(p)}</p>" for p in paras)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="de">'
        f"<head><title>{html.escape(article.title)}</title></head><body>{''.join(body)}</body></html>"
    )


def write_epub(articles: list[Article], path: Path) -> None:
    """An EPUB 3 with one chapter per article. Chapter files are named against their spine
    order (chapter 1 is z01.xhtml...), so a reader that sorts by name reads them wrongly."""
    names = [f"text/{chr(ord('z') - i)}{i + 1:02d}.xhtml" for i in range(len(articles))]
    items = "".join(f'<item id="c{i}" href="{n}" media-type="application/xhtml+xml"/>' for i, n in enumerate(names))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(names)))
    opf = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:uuid:00000000-0000-4000-8000-000000000015</dc:identifier>'
        f"<dc:title>{SITE}: Meta und Scale AI</dc:title><dc:creator>{AUTHOR}</dc:creator>"
        f"<dc:date>{DATE.date().isoformat()}</dc:date><dc:language>de</dc:language></metadata>"
        '<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        f"{items}</manifest>"
        f"<spine>{spine}</spine></package>"
    )
    links = "".join(f'<li><a href="{n}">{html.escape(a.title)}</a></li>' for n, a in zip(names, articles))
    nav = (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Inhalt</title></head><body>'
        f'<nav epub:type="toc"><ol>{links}</ol></nav></body></html>'
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)  # first, uncompressed
        z.writestr("META-INF/container.xml", container, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/nav.xhtml", nav, compress_type=zipfile.ZIP_DEFLATED)
        for n, a in zip(names, articles):
            z.writestr(f"OEBPS/{n}", _chapter(a), compress_type=zipfile.ZIP_DEFLATED)


def write_all(out: Path, formats=("html", "pdf", "docx", "epub"), bundle: bool = False, copies: int = 1) -> list[Path]:
    """Each article as a file of every format (NAME.html, NAME.pdf, ...), or with bundle=True
    one web page per article and the others as one dossier (dossier.pdf, .docx, .epub)
    holding them all."""
    out.mkdir(parents=True, exist_ok=True)
    articles = load_articles()
    written: list[Path] = []
    if "html" in formats:
        written += write_html(articles, out)
    groups = [("dossier", articles * copies)] if bundle else [(a.name, [a] * copies) for a in articles]
    for name, group in groups:
        for fmt, write in (("pdf", write_pdf), ("docx", write_docx), ("epub", write_epub)):
            if fmt in formats:
                write(group, out / f"{name}.{fmt}")
                written.append(out / f"{name}.{fmt}")
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--formats", default="html,pdf,docx,epub")
    parser.add_argument("--bundle", action="store_true", help="one dossier per format instead of a file per article")
    parser.add_argument("--copies", type=int, default=1, help="repeat the articles this many times in each file")
    args = parser.parse_args()
    for p in write_all(args.out, tuple(args.formats.split(",")), args.bundle, args.copies):
        print(p)
