"""One reader per file format, behind one function: read(path, fmt) -> Extracted.

Each reader's library is imported only when a file of its format is read, so `rag --help`
and a folder of text files never pay for them. Plain text and Markdown are streamed by
text.py instead (a text file can be larger than memory); the other formats are read whole,
in a worker process with a time limit (rag/ingest/extract.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from rag.ingest.readers.base import Extracted, Unreadable

# suffix -> format; the format names the module in this package that reads it
FORMATS = {
    ".txt": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".epub": "epub",
}
# suffixes people will try, with what to do instead
UNSUPPORTED = {
    ".doc": "old Word .doc format: save it as .docx",
    ".odt": "OpenDocument text: save it as .docx",
    ".rtf": "RTF: save it as .docx",
    ".mobi": "Kindle format: convert it to .epub (e.g. with Calibre)",
    ".azw3": "Kindle format: convert it to .epub (e.g. with Calibre)",
}
SUPPORTED = "/".join(dict.fromkeys(FORMATS))


def format_of(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def read(path: Path, fmt: str) -> Extracted:
    """The text of `path` (format `fmt`, not "text"); raises Unreadable."""
    module = importlib.import_module(f"rag.ingest.readers.{fmt}")
    return module.read(Path(path))


__all__ = ["FORMATS", "SUPPORTED", "UNSUPPORTED", "Extracted", "Unreadable", "format_of", "read"]
