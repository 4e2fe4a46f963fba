"""An index on disk: manifest.json, vectors.faiss (and vectors.npy for a compressed one),
chunks.jsonl with its line offsets, lexical/, the sentence table, and for documents that are
not plain text (HTML, PDF, DOCX, EPUB) documents.jsonl (format, metadata, page and section
map) and texts/ (each one's extracted text, named by the original file's sha256: a
citation's offsets are into it).

Loading opens the large parts memory-mapped (chunk table, sentence table, lexical postings,
compressed vectors): a question reads the rows it needs, so a process answering from a
million-chunk index holds a small part of it in memory.

The manifest says what built the index (format, embedder, chunking, a hash per file) so a
mismatch is caught when it is loaded instead of producing wrong answers. An index is written
whole into a temporary sibling folder and then moved into place.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from rag.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing
from rag.index import vectors as dense
from rag.index.embedders import EmbedderSpec
from rag.index.lexical import LexicalIndex
from rag.types import Chunk, DocumentInfo

if TYPE_CHECKING:  # faiss is imported when an index is built or loaded: `rag --help` stays instant
    import faiss

FORMAT_VERSION = 4
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
FULL_VECTORS = "vectors.npy"  # float16 chunk vectors beside a compressed index: exact re-scoring
CHUNKS = "chunks.jsonl"
CHUNK_OFFSETS = "chunk_offsets.npy"  # int64 byte offset of each line of chunks.jsonl, and the end
LEXICAL = "lexical"
UNITS = "sentences.npy"  # (chunk, start, end) per sentence, grouped by chunk
UNIT_OFFSETS = "sentence_offsets.npy"  # int64: chunk i's sentences are rows [off[i], off[i + 1])
UNIT_VECTORS = "sentence_vectors.npy"  # embeddings of those sentences: float16, or int8 in a large index
UNIT_SCALES = "sentence_scales.npy"  # float32 per int8 row: row * scale is the vector


class ChunkTable(Sequence[Chunk]):
    """The chunks of an index on disk, read one line of chunks.jsonl at a time through a
    memory map: opening a million-chunk index reads none of them."""

    def __init__(self, path: Path, offsets: np.ndarray):
        self.path = path
        self.offsets = offsets
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._map: mmap.mmap | bytes = b""
            if size:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                if hasattr(mmap, "MADV_RANDOM"):
                    mapped.madvise(mmap.MADV_RANDOM)  # one line at a time: no read-ahead
                self._map = mapped

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return Chunk(**json.loads(self._map[int(self.offsets[i]) : int(self.offsets[i + 1])]))

    def __iter__(self) -> Iterator[Chunk]:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield Chunk(**json.loads(line))


DOCUMENTS = "documents.jsonl"  # one DocumentInfo per document with a format, metadata or map
TEXTS = "texts"  # <sha256>.txt: the extracted text of each document that is not plain text


@dataclass
class Index:
    manifest: dict
    chunks: Sequence[Chunk]  # a ChunkTable when loaded from disk
    vectors: faiss.Index  # over the chunk embeddings, in chunk order
    lexical: LexicalIndex
    units: np.ndarray  # (n, 2) int32 document offsets of every chunk's sentences, by chunk
    unit_chunks: np.ndarray  # (n,) int32 chunk of each sentence
    # (n, dim) float16, or int8 rows times unit_scales (a large index); None when the index
    # keeps no sentence vectors (sentence_vectors_up_to): a question embeds them when needed
    unit_vectors: np.ndarray | None
    documents: dict[str, DocumentInfo] = field(default_factory=dict)  # by source
    # sha256 of an original file -> its extracted text, or the stored file that holds it
    texts: dict[str, str | Path] = field(default_factory=dict)
    # float16 chunk vectors (memory-mapped) beside a compressed vector index, or the .npy
    # file of them a build wrote; None for an exact index (its vectors are in it)
    full_vectors: np.ndarray | Path | None = None
    # unit_offsets as stored (memory-mapped); None: computed from unit_chunks
    sentence_offsets: np.ndarray | None = field(default=None, repr=False)
    unit_scales: np.ndarray | None = None  # (n,) float32 when unit_vectors are int8

    def text_of(self, source: str) -> str | None:
        """The extracted text a document's citations point into; None for a text file
        (its text is the file itself)."""
        doc = self.documents.get(source)
        held = self.texts.get(doc.sha256) if doc else None
        if held is None:
            return None
        return held if isinstance(held, str) else Path(held).read_text(encoding="utf-8")

    @property
    def embedder(self) -> EmbedderSpec:
        return EmbedderSpec(**self.manifest["embedder"])

    @property
    def unit_matrix(self) -> np.ndarray:
        """The sentence vectors as float32 in memory, converted once (they are stored as
        float16 to halve the index on disk). For a small index: all its sentences at once."""
        if getattr(self, "_matrix", None) is None:
            self._matrix = self.sentence_rows(slice(None))
        return self._matrix

    def sentence_sims(self, rows: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Inner products of the given sentences' vectors with qvec (int8 rows are scaled
        after the product: one multiply per row, not per element)."""
        assert self.unit_vectors is not None, "only an index with sentence vectors has them"
        sims = np.asarray(self.unit_vectors[rows], dtype=np.float32) @ np.asarray(qvec, dtype=np.float32)
        if self.unit_scales is not None:
            sims *= np.asarray(self.unit_scales[rows], dtype=np.float32)
        return sims

    def sentence_rows(self, rows) -> np.ndarray:
        """Sentence vectors (by row, or a slice) as float32."""
        assert self.unit_vectors is not None, "only an index with sentence vectors has them"
        out = np.asarray(self.unit_vectors[rows], dtype=np.float32)
        if self.unit_scales is not None:
            out *= np.asarray(self.unit_scales[rows], dtype=np.float32)[:, None]
        return out

    @property
    def unit_offsets(self) -> np.ndarray:
        """unit_offsets[i]:unit_offsets[i + 1] are the rows of chunk i's sentences."""
        if self.sentence_offsets is None:
            self.sentence_offsets = np.searchsorted(self.unit_chunks, np.arange(len(self.chunks) + 1)).astype(np.int64)
        return self.sentence_offsets

    def _mapped_vectors(self) -> np.ndarray | None:
        if isinstance(self.full_vectors, Path):
            self.full_vectors = dense.mapped(self.full_vectors)
        return None if isinstance(self.full_vectors, Path) else self.full_vectors

    def search(self, qvec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, cosine similarities) of the k nearest chunks, best first."""
        return dense.search(self.vectors, self._mapped_vectors(), qvec, k)

    def chunk_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The float32 vectors of the given chunks."""
        ids = np.asarray(ids, dtype=np.int64)
        full = self._mapped_vectors()
        if full is not None:
            return np.asarray(full[ids], dtype=np.float32)
        if not len(ids):
            return np.zeros((0, self.vectors.d), dtype=np.float32)
        return self.vectors.reconstruct_batch(ids)


def _sibling(directory: Path, suffix: str) -> Path:
    return directory.with_name(f".{directory.name}.{suffix}")


def current(directory: Path) -> Path:
    """Where the index of `directory` is. A `rag index` killed between the two renames
    of a swap leaves only the previous index, under its .old name: that one is current."""
    directory = Path(directory)
    old = _sibling(directory, "old")
    if not (directory / MANIFEST).exists() and (old / MANIFEST).exists():
        return old
    return directory


@contextlib.contextmanager
def write_lock(directory: Path):
    """Hold the index's writer lock: a second `rag index` on it fails at once, clearly."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    path = _sibling(directory, "lock")
    with open(path, "a+") as f:
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no fcntl (Windows): no lock
            pass
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise IndexBusy(
                f"another `rag index` (pid {holder}) is writing {directory}; wait for it to finish, then run this again"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        for stale in directory.parent.glob(f".{directory.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed run: we hold the lock
        yield


def save(directory: Path, index: Index) -> None:
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the index is not secret
    try:
        dense.write(index.vectors, tmp / VECTORS)
        if index.full_vectors is not None:
            _save_array(tmp / FULL_VECTORS, index.full_vectors, np.float16)
        _save_chunks(tmp, index.chunks)
        (tmp / LEXICAL).mkdir()
        index.lexical.save(tmp / LEXICAL)
        _save_units(tmp / UNITS, index.unit_chunks, index.units)
        np.save(tmp / UNIT_OFFSETS, np.asarray(index.unit_offsets, dtype=np.int64))
        if index.unit_vectors is not None:
            if index.unit_scales is not None:
                _save_array(tmp / UNIT_VECTORS, index.unit_vectors, np.int8)
                np.save(tmp / UNIT_SCALES, np.asarray(index.unit_scales, dtype=np.float32))
            else:
                _save_array(tmp / UNIT_VECTORS, index.unit_vectors, np.float16)
        _save_documents(tmp, index)
        (tmp / MANIFEST).write_text(json.dumps(index.manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
        _swap_into_place(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save_array(target: Path, array: np.ndarray | Path, dtype) -> None:
    """An array as .npy; one the build wrote to a file (a path, or a memory map of it) is
    linked, not copied: gigabytes at a million chunks."""
    if isinstance(array, np.memmap) and array.filename and array.dtype == dtype:
        array = Path(array.filename)
    if isinstance(array, Path):
        try:
            os.link(array, target)
        except OSError:
            shutil.copyfile(array, target)
        return
    np.save(target, np.asarray(array, dtype=dtype))


def _save_chunks(tmp: Path, chunks: Sequence[Chunk]) -> None:
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    pos = 0
    with open(tmp / CHUNKS, "wb") as f:
        for i, c in enumerate(chunks):
            line = (
                json.dumps({"source": c.source, "start": c.start, "end": c.end, "text": c.text}, ensure_ascii=False)
                + "\n"
            ).encode("utf-8")
            f.write(line)
            pos += len(line)
            offsets[i + 1] = pos
    np.save(tmp / CHUNK_OFFSETS, offsets)


def _save_units(path: Path, unit_chunks: np.ndarray, units: np.ndarray) -> None:
    table = np.empty((len(unit_chunks), 3), dtype=np.int32)
    table[:, 0] = unit_chunks
    table[:, 1:] = units
    np.save(path, table)


def _save_documents(tmp: Path, index: Index) -> None:
    with open(tmp / DOCUMENTS, "w", encoding="utf-8") as f:
        for doc in index.documents.values():
            f.write(json.dumps(doc.to_json(), ensure_ascii=False) + "\n")
    (tmp / TEXTS).mkdir()
    for sha in sorted({d.sha256 for d in index.documents.values() if d.sha256 in index.texts}):
        held, target = index.texts[sha], tmp / TEXTS / f"{sha}.txt"
        if isinstance(held, str):
            target.write_text(held, encoding="utf-8", newline="")
            continue
        try:  # an unchanged document's text, from the index being replaced
            os.link(held, target)
        except OSError:
            shutil.copyfile(held, target)


def _swap_into_place(new: Path, directory: Path) -> None:
    """Two renames; a kill between them leaves the previous index as .old, which current()
    finds. An index exists under `directory` only once it is complete."""
    old = _sibling(directory, "old")
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)  # directory is complete, so this is a leftover
        os.replace(directory, old)
    os.replace(new, directory)
    _fsync_dir(directory.parent)
    shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_manifest(directory: Path) -> dict:
    path = current(directory) / MANIFEST
    if not path.exists():
        raise IndexMissing(f"no index at {directory}; build it with `rag index [PATH ...] --index {directory}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise IndexCorrupt(f"{path} is unreadable; rebuild the index with `rag index --index {directory}`") from None
    version = manifest.get("format") if isinstance(manifest, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexMismatch(
            f"index at {directory} has format {version}, made by a newer rag (this one reads {FORMAT_VERSION}); "
            f"upgrade rag, or rebuild the index with `rag index --index {directory}`"
        )
    if version != FORMAT_VERSION:
        raise IndexMismatch(
            f"index at {directory} has format {version!r}, this rag reads format {FORMAT_VERSION}; "
            f"rebuild it with `rag index --index {directory}`"
        )
    return manifest


def load(directory: Path) -> Index:
    manifest = read_manifest(directory)
    rebuild = f"rebuild it with `rag index --index {directory}`"
    if (
        not isinstance(manifest.get("chunks"), int)
        or not isinstance(manifest.get("embedder"), dict)
        or not isinstance(manifest.get("files"), dict)
        or not isinstance(manifest.get("embedder_dim"), int)
    ):
        raise IndexCorrupt(f"the manifest of {directory} is incomplete; {rebuild}")
    directory = current(directory)
    kind = manifest.get("vector_index")
    try:
        vectors = dense.read(directory / VECTORS, kind)
    except Exception:
        raise IndexCorrupt(f"{directory / VECTORS} is missing or damaged; {rebuild}") from None
    full = None
    if dense.is_compressed(kind):
        try:
            full = dense.mapped(directory / FULL_VECTORS)
        except (OSError, ValueError):
            raise IndexCorrupt(f"{directory / FULL_VECTORS} is missing or damaged; {rebuild}") from None
        if full.shape != (vectors.ntotal, vectors.d):
            raise IndexCorrupt(f"{directory / FULL_VECTORS} does not match {VECTORS}; {rebuild}")
    try:
        offsets = dense.mapped(directory / CHUNK_OFFSETS)
        chunks = ChunkTable(directory / CHUNKS, offsets)
        if len(offsets) < 1 or int(offsets[-1]) != (directory / CHUNKS).stat().st_size:
            raise ValueError("offsets do not end at the end of the file")
        if len(chunks):
            chunks[len(chunks) - 1]  # the last line parses: the table is whole
    except (OSError, ValueError, TypeError):
        raise IndexCorrupt(f"{directory / CHUNKS} is missing or damaged; {rebuild}") from None
    try:
        lexical = LexicalIndex.load(directory / LEXICAL)
    except Exception:
        raise IndexCorrupt(f"{directory / LEXICAL} is missing or damaged; {rebuild}") from None
    try:
        units = dense.mapped(directory / UNITS)
        unit_offsets = dense.mapped(directory / UNIT_OFFSETS)
        unit_vectors = dense.mapped(directory / UNIT_VECTORS) if (directory / UNIT_VECTORS).exists() else None
        unit_scales = dense.mapped(directory / UNIT_SCALES) if (directory / UNIT_SCALES).exists() else None
    except (OSError, ValueError):
        raise IndexCorrupt(f"the sentence table in {directory} is missing or damaged; {rebuild}") from None
    documents: dict[str, DocumentInfo] = {}
    if (directory / DOCUMENTS).exists():  # an index of text files only may predate it
        try:
            with open(directory / DOCUMENTS, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        doc = DocumentInfo.from_json(json.loads(line))
                        documents[doc.source] = doc
        except (OSError, ValueError, TypeError):
            raise IndexCorrupt(f"{directory / DOCUMENTS} is damaged; {rebuild}") from None
    texts: dict[str, str | Path] = {}
    for doc in documents.values():
        if doc.format != "text":
            stored = directory / TEXTS / f"{doc.sha256}.txt"
            if not stored.exists():
                raise IndexCorrupt(f"the extracted text of {doc.source} is missing from {directory}; {rebuild}")
            texts[doc.sha256] = stored
    if (
        units.ndim != 2
        or units.shape[1] != 3
        or (unit_vectors is not None and len(units) != len(unit_vectors))
        or (unit_scales is not None and len(units) != len(unit_scales))
        or (unit_vectors is not None and unit_vectors.dtype == np.int8 and unit_scales is None)
        or len(unit_offsets) != len(chunks) + 1
        or (len(unit_offsets) and int(unit_offsets[-1]) != len(units))
    ):
        raise IndexCorrupt(f"the sentence table in {directory} does not match its vectors; {rebuild}")
    if not (vectors.ntotal == len(chunks) == manifest.get("chunks")):
        raise IndexCorrupt(f"index at {directory} has {vectors.ntotal} vectors for {len(chunks)} chunks; {rebuild}")
    if vectors.d != manifest["embedder_dim"]:
        raise IndexCorrupt(
            f"index at {directory} has {vectors.d}-d vectors, manifest says {manifest['embedder_dim']}; {rebuild}"
        )
    index = Index(
        manifest,
        chunks,
        vectors,
        lexical,
        units[:, 1:],  # views of the mapped table: nothing is copied
        units[:, 0],
        unit_vectors,
        documents,
        texts,
        full,
        unit_offsets,
        unit_scales,
    )
    return index


def check_embedder(index_dir: Path, manifest: dict, wanted: EmbedderSpec) -> None:
    built = EmbedderSpec(**manifest["embedder"])
    if not built.same_model(wanted):
        raise IndexMismatch(
            f"index at {index_dir} was built with embedder {built.name} ({built.kind}), not {wanted.name}; "
            f"rebuild it with `rag index --index {index_dir} --embedder ...` or drop --embedder"
        )


def check_dimension(index_dir: Path, manifest: dict, dim: int) -> None:
    """The embedder found under the recorded name must still produce the recorded vectors."""
    if dim != manifest["embedder_dim"]:
        raise IndexMismatch(
            f"index at {index_dir} holds {manifest['embedder_dim']}-d vectors but embedder "
            f"{manifest['embedder']['name']} now gives {dim}-d; rebuild it with `rag index --index {index_dir}`"
        )
