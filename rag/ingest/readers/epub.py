"""EPUB: a zip of XHTML chapters, read with zipfile and the HTML walker (no e-book library:
the common one, ebooklib, is AGPL). Chapters in spine order; a chapter's table-of-contents
label is its section until a heading inside it says more; title, author and date from the
package document (Dublin Core)."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote

from rag.ingest.layout import TextBuilder, clean_inline
from rag.ingest.readers.base import Extracted, Unreadable
from rag.ingest.readers.html import walk

OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
XHTML_TYPES = ("application/xhtml+xml", "text/html")


def _xml(z: zipfile.ZipFile, name: str):
    from lxml import etree

    try:
        return etree.fromstring(z.read(name), etree.XMLParser(resolve_entities=False, no_network=True, recover=True))
    except KeyError:
        raise Unreadable("damaged", f"is not a complete EPUB ({name} is missing)") from None
    except etree.XMLSyntaxError as exc:
        raise Unreadable("damaged", f"is damaged ({name}: {exc})") from None


def _package_path(z: zipfile.ZipFile) -> str:
    container = _xml(z, "META-INF/container.xml")
    rootfile = container.find(f".//{CONTAINER}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise Unreadable("damaged", "is not a valid EPUB (its container names no package document)")
    return rootfile.get("full-path")


def _resolve(base: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href.split("#")[0])))


def toc_labels(z: zipfile.ZipFile, opf_path: str, package) -> dict[str, str]:
    """Chapter file -> its label in the table of contents (EPUB 3 nav, else EPUB 2 NCX)."""
    labels: dict[str, str] = {}
    items = package.findall(f"{OPF}manifest/{OPF}item")
    nav = next((i for i in items if "nav" in (i.get("properties") or "").split()), None)
    if nav is not None:
        nav_path = _resolve(opf_path, nav.get("href", ""))
        tree = _xml(z, nav_path)
        for a in tree.iter("{http://www.w3.org/1999/xhtml}a"):
            if a.get("href"):
                labels.setdefault(_resolve(nav_path, a.get("href")), clean_inline("".join(a.itertext())))
        return labels
    ncx = next((i for i in items if i.get("media-type") == "application/x-dtbncx+xml"), None)
    if ncx is not None:
        ncx_path = _resolve(opf_path, ncx.get("href", ""))
        for point in _xml(z, ncx_path).iter(f"{NCX}navPoint"):
            text, content = point.find(f"{NCX}navLabel/{NCX}text"), point.find(f"{NCX}content")
            if text is not None and content is not None and content.get("src"):
                labels.setdefault(_resolve(ncx_path, content.get("src")), clean_inline(text.text or ""))
    return labels


def _encrypted(z: zipfile.ZipFile, chapters: list[str]) -> bool:
    """Whether chapters are encrypted (DRM); fonts alone may be obfuscated, which is fine."""
    if "META-INF/encryption.xml" not in z.namelist():
        return False
    refs = {
        unquote(ref.get("URI", ""))
        for ref in _xml(z, "META-INF/encryption.xml").iter("{http://www.w3.org/2001/04/xmlenc#}CipherReference")
    }
    return any(c in refs for c in chapters)


def read(path: Path) -> Extracted:
    import lxml.html

    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise Unreadable("damaged", f"is not an EPUB (not a zip archive: {exc})") from None
    with z:
        opf_path = _package_path(z)
        package = _xml(z, opf_path)
        manifest = {i.get("id"): i for i in package.findall(f"{OPF}manifest/{OPF}item")}
        chapters = []
        for ref in package.findall(f"{OPF}spine/{OPF}itemref"):
            item = manifest.get(ref.get("idref"))
            if item is not None and item.get("media-type") in XHTML_TYPES:
                chapters.append(_resolve(opf_path, item.get("href", "")))
        if not chapters:
            raise Unreadable("damaged", "is not a valid EPUB (its spine lists no chapters)")
        if _encrypted(z, chapters):
            raise Unreadable("encrypted", "is DRM-protected (its chapters are encrypted): rag cannot read it")
        labels = toc_labels(z, opf_path, package)
        out = TextBuilder()
        for name in chapters:
            try:
                data = z.read(name)
            except KeyError:
                continue  # a spine entry without its file: read the rest
            if not data.strip():
                continue
            tree = lxml.html.document_fromstring(data)
            out.reset_headings()
            if labels.get(name):
                out.section(labels[name])
            body = tree.find(".//{*}body")
            walk(body if body is not None else tree, out)
        metadata = package.find(f"{OPF}metadata")

    def dc(tag: str) -> str | None:
        found = metadata.find(f"{DC}{tag}") if metadata is not None else None
        return clean_inline("".join(found.itertext())) or None if found is not None else None

    if not out.text.strip():
        raise Unreadable("no text", "has no text in its chapters")
    return Extracted(out.text, (), tuple(out.sections), dc("title"), dc("creator"), dc("date"))
