#!/usr/bin/env python
"""How fast rag reads each document format, beside the raw library's own extraction.

    python scripts/bench_ingest.py                       # generated corpus, every format
    python scripts/bench_ingest.py --copies 8 --json     # longer files; one JSON object
    python scripts/bench_ingest.py --pdf a.pdf --pdf b.pdf  # real PDFs too (pypdfium2 vs pypdf)

The corpus is the seed articles written out by scripts/make_formats.py, each file holding
the articles `--copies` times. For every format it prints pages/s and MB/s of rag's reader
(text, page and section map, metadata) and of the raw library call that only pulls out text
(trafilatura.extract, PDFium's get_text_range, python-docx's paragraphs, lxml over the EPUB's
chapters), their ratio, and the peak RSS of each run, each in its own process. Pages: PDF
pages; for the other formats, standard pages of 1,800 characters of extracted text.
Quality: word F1 of the text against the articles' own words, and how much of the page
around an article (make_formats.BOILERPLATE) got in.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_formats  # noqa: E402

STANDARD_PAGE = 1800  # characters


# --- the extractions, each run in a child process (python bench_ingest.py --child METHOD FILES...) ---------


def _rag(fmt: str):
    def run(path: Path) -> tuple[str, int]:
        from rag.ingest.readers import read

        ex = read(path, fmt)
        return ex.text, len(ex.pages)

    return run


def _raw_html(path: Path) -> tuple[str, int]:
    import trafilatura

    return trafilatura.extract(path.read_bytes(), include_comments=False, include_tables=True) or "", 0


def _readability(path: Path) -> tuple[str, int]:
    import lxml.html
    from readability import Document

    summary = Document(path.read_text(encoding="utf-8")).summary()
    return lxml.html.fromstring(summary).text_content(), 0


def _naive_html(path: Path) -> tuple[str, int]:
    import lxml.html

    tree = lxml.html.fromstring(path.read_bytes())
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    return tree.text_content(), 0


def _raw_pdfium(path: Path) -> tuple[str, int]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))), len(doc)


def _raw_pypdf(path: Path) -> tuple[str, int]:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def _raw_docx(path: Path) -> tuple[str, int]:
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs), 0


def _raw_epub(path: Path) -> tuple[str, int]:
    import zipfile

    import lxml.html

    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".xhtml") and not n.endswith("nav.xhtml"))
        return "\n".join(lxml.html.fromstring(z.read(n)).text_content() for n in names), 0


METHODS = {
    "rag-html": _rag("html"),
    "trafilatura": _raw_html,
    "readability-lxml": _readability,
    "lxml-all-text": _naive_html,
    "rag-pdf": _rag("pdf"),
    "pypdfium2": _raw_pdfium,
    "pypdf": _raw_pypdf,
    "rag-docx": _rag("docx"),
    "python-docx": _raw_docx,
    "rag-epub": _rag("epub"),
    "zipfile+lxml": _raw_epub,
}
# format -> (rag's reader, the raw library call it is compared with, alternatives measured)
FORMATS = {
    "html": ("rag-html", "trafilatura", ["readability-lxml", "lxml-all-text"]),
    "pdf": ("rag-pdf", "pypdfium2", ["pypdf"]),
    "docx": ("rag-docx", "python-docx", []),
    "epub": ("rag-epub", "zipfile+lxml", []),
}


def child(method: str, files: list[str]) -> None:
    """Extract every file once after a warm-up on the first; print seconds, pages, chars,
    peak RSS and the texts' words (for quality)."""
    run = METHODS[method]
    run(Path(files[0]))  # imports and first-call costs are not the reading speed
    t0 = time.perf_counter()
    pages = chars = 0
    texts = []
    for f in files:
        text, n = run(Path(f))
        pages += n
        chars += len(text)
        texts.append(text)
    seconds = time.perf_counter() - t0
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "pages": pages, "chars": chars, "rss_mb": peak_kb / 1024, "text": texts}))


def measure(method: str, files: list[Path]) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", method, *map(str, files)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {method}: not measured ({last})", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


# --- quality -------------------------------------------------------------------------------------------------


def words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def word_f1(got: str, want: str) -> float:
    g, w = words(got), words(want)
    common = sum((g & w).values())
    if not common:
        return 0.0
    p, r = common / sum(g.values()), common / sum(w.values())
    return 2 * p * r / (p + r)


def boilerplate_share(text: str) -> float:
    parts = list(make_formats.BOILERPLATE.values())
    return sum(p in text for p in parts) / len(parts)


def corpus(out: Path, copies: int) -> dict[str, list[Path]]:
    """Per format: the seed articles, each file holding them `copies` times (web pages: one
    article per page, `copies` pages of each)."""
    articles = make_formats.load_articles()
    files: dict[str, list[Path]] = {"html": [], "pdf": [], "docx": [], "epub": []}
    for k in range(copies):
        for a in articles:
            path = out / f"{k:03d}_{a.name}.html"
            path.write_text(make_formats.news_page(a), encoding="utf-8")
            files["html"].append(path)
    for a in articles:
        for fmt, write in (
            ("pdf", make_formats.write_pdf),
            ("docx", make_formats.write_docx),
            ("epub", make_formats.write_epub),
        ):
            path = out / f"{a.name}.{fmt}"
            write([a] * copies, path)
            files[fmt].append(path)
    return files


def expected_text(fmt: str, copies: int) -> str:
    """The articles' own words, as many times as the files of `fmt` hold them."""
    one = "\n".join(
        p for a in make_formats.load_articles() for sub, paras in a.sections for p in [a.title, sub or "", *paras]
    )
    return "\n".join([one] * copies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4, help="how many times each file holds its article")
    parser.add_argument("--pdf", type=Path, action="append", default=[], help="a real PDF to measure too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = corpus(Path(tmp), args.copies)
        if args.pdf:
            files["real pdf"] = args.pdf
        for fmt, paths in files.items():
            ours, raw, others = FORMATS["pdf" if fmt == "real pdf" else fmt]
            mb = sum(p.stat().st_size for p in paths) / 2**20
            want = expected_text(fmt, args.copies) if fmt != "real pdf" else None
            base = None
            for method in [ours, raw, *others]:
                m = measure(method, paths)
                if m is None:
                    continue
                text = "\n".join(m.pop("text"))
                pages = m["pages"] if fmt in ("pdf", "real pdf") else m["chars"] / STANDARD_PAGE
                row = {
                    "format": fmt,
                    "method": method,
                    "files": len(paths),
                    "MB": round(mb, 2),
                    "pages": round(pages, 1),
                    "seconds": round(m["seconds"], 4),
                    "pages_per_s": round(pages / m["seconds"], 1),
                    "MB_per_s": round(mb / m["seconds"], 2),
                    "peak_rss_MB": round(m["rss_mb"], 1),
                    "word_f1": None if want is None else round(word_f1(text, want), 4),
                    "boilerplate": round(boilerplate_share(text), 2) if fmt == "html" else None,
                }
                if method == raw:
                    base = row
                rows.append(row)
            for row in rows:
                if row["format"] == fmt and base is not None:
                    row["x_raw_time"] = round(row["seconds"] / base["seconds"], 2)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    cols = ["format", "method", "files", "MB", "pages", "pages_per_s", "MB_per_s", "x_raw_time", "peak_rss_MB"]
    cols += ["word_f1", "boilerplate"]
    table = [cols] + [["-" if r.get(c) is None else str(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
