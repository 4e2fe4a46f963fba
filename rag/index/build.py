"""Files on disk -> Index: read, chunk, embed, build the lexical index, write the manifest."""

from __future__ import annotations

import shutil
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rag import __version__
from rag.config import DEFAULT_EMBEDDER, Settings
from rag.errors import CorpusError, RagError
from rag.index import store
from rag.index import vectors as dense
from rag.index.embedders import Embedder, EmbedderSpec, resolve_embedder
from rag.index.encode import Encoder
from rag.index.lexical import LexicalIndex
from rag.ingest.chunking import chunk_document
from rag.ingest.corpus import Skipped, SourceFile, no_readable_file, scan_corpus, windows
from rag.ingest.extract import Extractor
from rag.ingest.readers import Extracted, Unreadable
from rag.ingest.readers.text import heading_sections
from rag.lang.text import detect_language, sentence_spans
from rag.types import Chunk, Document, DocumentInfo

BLOCK = 16_384  # chunk vectors assembled at a time (reused and new rows, in chunk order)


@dataclass
class IndexReport:
    files: int
    chunks: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0  # texts embedded (chunks and sentences): 0 when nothing changed
    written: bool = True  # False: the index was up to date and left alone
    notes: list[Skipped] = field(default_factory=list)  # read, but with a remark (encoding)
    formats: dict[str, int] = field(default_factory=dict)  # files in the index per format ("pdf", "txt", ...)

    @property
    def skipped_by_kind(self) -> dict[str, int]:
        return dict(Counter(s.kind for s in self.skipped).most_common())


@dataclass
class _Piece:
    """A chunk of the new index: from a file that changed (row None) or reused (row in old)."""

    chunk: Chunk
    language: str
    row: int | None = None


def _previous(settings: Settings, spec: EmbedderSpec) -> store.Index | None:
    """The index being updated, when its vectors can be reused for unchanged files."""
    try:
        old = store.load(settings.index_dir)
    except RagError:
        return None  # absent, damaged or from another format: build from scratch
    chunking = {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap, "unit": "sentence"}
    if not old.embedder.same_model(spec) or old.manifest.get("chunking") != chunking:
        return None
    return old


@dataclass
class _Plan:
    pieces: list[_Piece]
    entries: dict  # manifest "files"
    counts: dict
    documents: dict[str, DocumentInfo]  # by source
    texts: dict[str, str | Path]  # sha256 -> extracted text (new) or its stored file (reused)


def format_label(sf: SourceFile) -> str:
    """A file's format as the index report counts it: "txt", "md", "pdf", "html"..."""
    return sf.path.suffix.lower().lstrip(".") if sf.format == "text" else sf.format


def _needs_reading(sf: SourceFile, old: store.Index | None) -> bool:
    """A document must be read unless the index holds its chunks and text for these bytes."""
    if sf.format == "text":
        return False
    if old is None:
        return True
    before = old.documents.get(sf.source)
    return not (before and before.sha256 == sf.sha256 and before.sha256 in old.texts)


def _chunks_of(source: str, sha: str, parts, settings: Settings) -> tuple[list[Chunk], str]:
    chunks: list[Chunk] = []
    lang: str | None = None
    for base, text in parts:
        lang = lang or detect_language(text[:5000])
        for c in chunk_document(Document(source, text, sha), settings.chunk_chars, settings.chunk_overlap):
            chunks.append(Chunk(c.source, c.start + base, c.end + base, c.text))
    return chunks, lang or "en"  # no text at all: any language will do


def _plan(files: list[SourceFile], old: store.Index | None, settings: Settings, read: dict[str, Extracted]) -> _Plan:
    """Chunks of the new index in file order, reusing the old index's rows for files whose
    content hash is unchanged; per-file manifest entries; counts; documents and their texts.
    read: the extracted text of each document that changed."""
    old_files = old.manifest["files"] if old else {}
    old_chunks = old.chunks if old else []
    rows_of: dict[str, list[int]] = {}
    for r, c in enumerate(old_chunks):
        rows_of.setdefault(c.source, []).append(r)
    plan = _Plan([], {}, {"added": 0, "changed": 0, "unchanged": 0}, {}, {})
    for sf in files:
        before = old_files.get(sf.source)
        if before and before.get("sha256") == sf.sha256 and sf.source in rows_of and sf.source not in read:
            plan.counts["unchanged"] += 1
            lang = before["language"]
            plan.pieces.extend(_Piece(old_chunks[r], lang, r) for r in rows_of[sf.source])
            plan.entries[sf.source] = {**before, "encoding": sf.encoding} if sf.format == "text" else before
            if old is not None and (doc := old.documents.get(sf.source)) is not None:
                plan.documents[sf.source] = doc
                if doc.sha256 in old.texts:
                    plan.texts[doc.sha256] = old.texts[doc.sha256]
            continue
        plan.counts["changed" if before else "added"] += 1
        entry: dict = {"sha256": sf.sha256}
        if sf.format == "text":
            doc_chunks, lang = _chunks_of(sf.source, sf.sha256, windows(sf), settings)
            entry.update(chars=sf.chars, encoding=sf.encoding)
            if sf.path.suffix.lower() == ".md":
                sections, open_headings = [], None
                for base, text in windows(sf):
                    found, open_headings = heading_sections(text, base, open_headings)
                    sections.extend(found)
                if sections:
                    plan.documents[sf.source] = DocumentInfo(sf.source, "text", sf.sha256, sections=tuple(sections))
        else:
            ex = read[sf.source]
            doc_chunks, lang = _chunks_of(sf.source, sf.sha256, [(0, ex.text)], settings)
            entry.update(chars=len(ex.text), format=sf.format)
            plan.documents[sf.source] = DocumentInfo(
                sf.source, sf.format, sf.sha256, ex.title, ex.author, ex.date, ex.pages, ex.sections, len(ex.text)
            )
            plan.texts[sf.sha256] = ex.text
        plan.pieces.extend(_Piece(c, lang) for c in doc_chunks)
        plan.entries[sf.source] = {
            "sha256": sf.sha256,
            "chars": entry["chars"],
            "chunks": len(doc_chunks),
            "language": lang,
        }
        plan.entries[sf.source].update({k: v for k, v in entry.items() if k in ("encoding", "format")})
    plan.counts["removed"] = len(set(old_files) - set(plan.entries))
    return plan


def read_documents(
    files: list[SourceFile],
    old: store.Index | None,
    settings: Settings,
    reading: Callable[[int, int], None] | None = None,
) -> tuple[list[SourceFile], dict[str, Extracted], list[Skipped], list[Skipped]]:
    """Read the documents (HTML, PDF, DOCX, EPUB) that changed, in worker processes under
    the per-file time limit. Returns the files that can be indexed, the texts read, the files
    skipped and the notes (read, with a remark)."""
    todo = [sf for sf in files if _needs_reading(sf, old)]
    results = Extractor(timeout=settings.read_timeout).read_all([(sf.path, sf.format) for sf in todo], reading)
    read: dict[str, Extracted] = {}
    skipped, notes = [], []
    for sf, result in zip(todo, results):
        if isinstance(result, Unreadable):
            skipped.append(Skipped(sf.source, result.reason, result.kind))
        else:
            read[sf.source] = result
            if result.note:
                notes.append(Skipped(sf.source, result.note, "note"))
    failed = {s.source for s in skipped}
    return [sf for sf in files if sf.source not in failed], read, skipped, notes


def build_index(
    paths: list[Path],
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    full: bool = False,
    reading: Callable[[int, int], None] | None = None,
    workers: int = 1,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Index `paths` into settings.index_dir, re-embedding only files added or changed since
    the index was last built (full=True: everything). progress(done, total) per batch
    embedded; reading(done, total) per document read. workers: processes that embed;
    embedder: one already loaded, used in this process (its spec must be the index's)."""
    with store.write_lock(settings.index_dir):
        return _build(paths, settings, progress, full, reading, workers, embedder)


def _build(paths, settings, progress, full, reading=None, workers=1, embedder=None) -> IndexReport:
    t0 = time.perf_counter()
    max_bytes = settings.max_file_mb * 2**20 if settings.max_file_mb else None
    files, skipped = scan_corpus(paths, max_bytes)
    notes = [Skipped(sf.source, sf.note) for sf in files if sf.note]
    old = None
    if not full:
        try:  # without --embedder, an update keeps the embedder the index was built with
            wanted = (
                resolve_embedder(settings.embedder)
                if settings.embedder
                else EmbedderSpec(**store.read_manifest(settings.index_dir)["embedder"])
            )
        except RagError:
            wanted = resolve_embedder(DEFAULT_EMBEDDER)
        old = _previous(settings, wanted)
    spec = old.embedder if old else resolve_embedder(settings.embedder or DEFAULT_EMBEDDER)
    if embedder is not None and not embedder.spec.same_model(spec):
        raise RagError(f"embedder {embedder.spec.name} given for an index of {spec.name}")
    files, read, unreadable, read_notes = read_documents(files, old, settings, reading)
    skipped, notes = skipped + unreadable, notes + read_notes
    if not files:
        raise CorpusError(no_readable_file(paths, skipped))
    plan = _plan(files, old, settings, read)
    pieces, entries, counts = plan.pieces, plan.entries, plan.counts
    chunks = [p.chunk for p in pieces]
    # Sentence vectors sharpen retrieval (README) and cost ~6 short texts per chunk to embed;
    # embedding them per question instead took most of a large index's retrieval time
    # (scripts/bench.py), so by default every index keeps them.
    with_sentences = settings.sentence_vectors_up_to is None or len(chunks) <= settings.sentence_vectors_up_to
    reuse_units = old is not None and (old.unit_vectors is not None) == with_sentences
    formats = dict(Counter(format_label(sf) for sf in files).most_common())
    report = IndexReport(len(files), len(chunks), skipped, 0.0, **counts, notes=notes, formats=formats)
    if (
        old
        and not (counts["added"] or counts["changed"] or counts["removed"])
        and reuse_units
        and old.manifest.get("vector_index") == dense.kind_for(len(chunks), settings.exact_search_up_to)
    ):
        report.written, report.seconds = False, time.perf_counter() - t0
        return report

    unit_chunks, units = array("i"), array("i")
    for i, c in enumerate(chunks):
        for s, e in sentence_spans(c.text):
            unit_chunks.append(i)
            units.extend((c.start + s, c.start + e))
    unit_chunk_ids = np.frombuffer(unit_chunks, dtype=np.int32) if len(unit_chunks) else np.zeros(0, np.int32)
    unit_spans = (np.frombuffer(units, dtype=np.int32) if len(units) else np.zeros(0, np.int32)).reshape(-1, 2)
    piece_rows = np.array([-1 if p.row is None else p.row for p in pieces], dtype=np.int64)
    fresh = np.flatnonzero(piece_rows < 0)
    unit_rows = np.full(len(unit_chunk_ids), -1, dtype=np.int64)  # each sentence's row in the old index
    if with_sentences and old is not None and reuse_units and len(unit_chunk_ids):
        new_off = np.searchsorted(unit_chunk_ids, np.arange(len(chunks) + 1))
        row = piece_rows[unit_chunk_ids]
        known = row >= 0
        within = np.arange(len(unit_chunk_ids)) - new_off[unit_chunk_ids]
        unit_rows[known] = np.asarray(old.unit_offsets, dtype=np.int64)[row[known]] + within[known]
    fresh_units = np.flatnonzero(unit_rows < 0) if with_sentences else np.zeros(0, np.int64)
    total = len(fresh) + len(fresh_units)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    kind = dense.kind_for(len(chunks), settings.exact_search_up_to)
    scratch = None
    if dense.is_compressed(kind):
        # Vectors are streamed to disk beside the index, a block at a time: a million 512-d
        # chunk vectors would be 2 GB in memory as float32, their sentences' several more.
        # (a .tmp- name: write_lock clears what a killed run left)
        parent, name = settings.index_dir.parent, settings.index_dir.name
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-vectors-", dir=parent))
    try:
        with Encoder(spec, workers, embedder) as encoder:
            if total:
                dim = encoder.dim
            else:
                assert old is not None, "nothing to embed means every chunk is reused from an old index"
                dim = old.manifest["embedder_dim"]
            chunk_stream = encoder.encode_stream((chunks[i].text for i in fresh), tick)
            blocks = _assemble(piece_rows, old.chunk_vectors if old else None, chunk_stream, dim)
            full_vectors: Path | None = None
            if scratch is not None:
                full_vectors = scratch / store.FULL_VECTORS
                out = dense.VectorFile(full_vectors, len(chunks), dim)
                for block in blocks:
                    out.write(block)
                out.close()
                vector_index = dense.build(kind, full_vectors, len(chunks), dim)
            else:
                vecs = np.concatenate(list(blocks)) if chunks else np.zeros((0, dim), np.float32)
                vector_index = dense.build(kind, vecs, len(chunks), dim)
                del vecs
            unit_vectors, unit_scales = None, None
            if with_sentences:

                def text_of(u: int) -> str:
                    c = chunks[unit_chunk_ids[u]]
                    return c.text[unit_spans[u][0] - c.start : unit_spans[u][1] - c.start]

                unit_stream = encoder.encode_stream((text_of(int(u)) for u in fresh_units), tick)
                fetch = old.sentence_rows if old is not None and old.unit_vectors is not None else None
                blocks = _assemble(unit_rows, fetch, unit_stream, dim)
                if scratch is not None:  # int8 with a scale per row, streamed to disk
                    path = scratch / store.UNIT_VECTORS
                    out = dense.VectorFile(path, len(unit_chunk_ids), dim, np.int8)
                    scales = []
                    for block in blocks:
                        q, scale = dense.quantize(block)
                        out.write(q)
                        scales.append(scale)
                    out.close()
                    unit_vectors = np.load(path, mmap_mode="r")
                    unit_scales = np.concatenate(scales) if scales else np.zeros(0, np.float32)
                else:
                    unit_vectors = np.zeros((len(unit_chunk_ids), dim), np.float16)
                    at = 0
                    for block in blocks:
                        unit_vectors[at : at + len(block)] = block
                        at += len(block)
        report.embedded = total
        manifest = {
            "format": store.FORMAT_VERSION,
            "rag_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedder": spec.to_json(),
            "embedder_dim": int(dim),
            "chunking": {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap, "unit": "sentence"},
            "vector_index": kind,
            "sentence_vectors": with_sentences,
            "chunks": len(chunks),
            "sentences": len(unit_chunk_ids),
            "files": entries,
        }
        languages = [p.language for p in pieces]
        index = store.Index(
            manifest,
            chunks,
            vector_index,
            LexicalIndex.build([c.text for c in chunks], languages),
            unit_spans,
            unit_chunk_ids,
            unit_vectors,
            plan.documents,
            plan.texts,
            full_vectors,
            unit_scales=unit_scales,
        )
        store.save(settings.index_dir, index)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    report.seconds = time.perf_counter() - t0
    return report


def _assemble(old_rows: np.ndarray, fetch_old, fresh: Iterator[np.ndarray], dim: int) -> Iterator[np.ndarray]:
    """All rows in order, a block at a time: row i from the old index when old_rows[i] >= 0
    (fetch_old(rows) gives them), else the next vectors of the fresh stream (embedded in
    the encoder's batches, whatever the blocks: 1 and N workers embed the same batches)."""
    pending = np.zeros((0, dim), np.float32)
    for start in range(0, len(old_rows), BLOCK):
        rows = old_rows[start : start + BLOCK]
        out = np.zeros((len(rows), dim), np.float32)
        reused = rows >= 0
        if reused.any():
            out[reused] = fetch_old(rows[reused])
        need = int((~reused).sum())
        parts = [pending]
        have = len(pending)
        while have < need:
            parts.append(next(fresh))
            have += len(parts[-1])
        pending = np.concatenate(parts) if len(parts) > 1 else pending
        out[~reused] = pending[:need]
        pending = pending[need:]
        yield out
