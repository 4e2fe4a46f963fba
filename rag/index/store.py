"""An index on disk: manifest.json, vectors.faiss, chunks.jsonl, lexical/, and for documents
that are not plain text (HTML, PDF, DOCX, EPUB) documents.jsonl (format, metadata, page and
section map) and texts/ (each one's extracted text, named by the original file's sha256:
a citation's offsets are into it).

The manifest says what built the index (format, embedder, chunking, a hash per file) so a
mismatch is caught when it is loaded instead of producing wrong answers. An index is written
whole into a temporary sibling folder and then moved into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing
from rag.index.embedders import EmbedderSpec
from rag.index.lexical import LexicalIndex
from rag.types import Chunk, DocumentInfo

if TYPE_CHECKING:  # faiss is imported when an index is built or loaded: `rag --help` stays instant
    import faiss

FORMAT_VERSION = 3
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.jsonl"
LEXICAL = "lexical"
UNITS = "sentences.npy"  # (chunk, start, end) per sentence, grouped by chunk
UNIT_VECTORS = "sentence_vectors.npy"  # float16 embeddings of those sentences
DOCUMENTS = "documents.jsonl"  # one DocumentInfo per document with a format, metadata or map
TEXTS = "texts"  # <sha256>.txt: the extracted text of each document that is not plain text


@dataclass
class Index:
    manifest: dict
    chunks: list[Chunk]
    vectors: faiss.Index  # over the chunk embeddings, in chunk order
    lexical: LexicalIndex
    units: np.ndarray  # (n, 2) int32 document offsets of every chunk's sentences, by chunk
    unit_chunks: np.ndarray  # (n,) int32 chunk of each sentence
    unit_vectors: np.ndarray | None  # (n, dim) float16; None for large corpora (embedded when needed)
    documents: dict[str, DocumentInfo] = field(default_factory=dict)  # by source
    # sha256 of an original file -> its extracted text, or the stored file that holds it
    texts: dict[str, str | Path] = field(default_factory=dict)

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
        float16 to halve the index on disk)."""
        if getattr(self, "_matrix", None) is None:
            self._matrix = np.asarray(self.unit_vectors, dtype=np.float32)
        return self._matrix

    @property
    def unit_offsets(self) -> np.ndarray:
        """unit_offsets[i]:unit_offsets[i + 1] are the rows of chunk i's sentences."""
        if getattr(self, "_offsets", None) is None:
            self._offsets = np.searchsorted(self.unit_chunks, np.arange(len(self.chunks) + 1)).astype(np.int64)
        return self._offsets


# Measured on 93,593 synthetic chunks (scripts/bench.py; near-duplicates, a hard case):
# efConstruction 80 / efSearch 128 found 0.83 of the exact top 10, 200 / 1024 0.98 (ties
# counted), for 14 s more building and 0.5 ms per search.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 200, 1024


def build_faiss(vectors: np.ndarray, exact_up_to: int = 20_000) -> faiss.Index:
    """Exact inner product on normalised vectors (cosine similarity) for the sizes a
    laptop corpus usually has; an HNSW graph above exact_up_to chunks, where exact search
    would cost tens of milliseconds per question."""
    import faiss

    d = vectors.shape[1]
    index: faiss.Index
    if len(vectors) > exact_up_to:
        graph = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index = graph
    else:
        index = faiss.IndexFlatIP(d)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def describe_faiss(index: faiss.Index) -> str:
    return f"hnsw{HNSW_M}-ip" if hasattr(index, "hnsw") else "flat-ip"


def describe_kind(n: int, exact_up_to: int) -> str:
    """What build_faiss would make for n vectors."""
    return f"hnsw{HNSW_M}-ip" if n > exact_up_to else "flat-ip"


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
    import faiss

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the index is not secret
    try:
        faiss.write_index(index.vectors, str(tmp / VECTORS))
        with open(tmp / CHUNKS, "w", encoding="utf-8") as f:
            for c in index.chunks:
                f.write(
                    json.dumps({"source": c.source, "start": c.start, "end": c.end, "text": c.text}, ensure_ascii=False)
                    + "\n"
                )
        (tmp / LEXICAL).mkdir()
        index.lexical.save(tmp / LEXICAL)
        np.save(tmp / UNITS, np.column_stack([index.unit_chunks, index.units]).astype(np.int32))
        if index.unit_vectors is not None:
            np.save(tmp / UNIT_VECTORS, np.asarray(index.unit_vectors, dtype=np.float16))
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
    import faiss

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
    try:
        vectors = faiss.read_index(str(directory / VECTORS))
    except Exception:
        raise IndexCorrupt(f"{directory / VECTORS} is missing or damaged; {rebuild}") from None
    try:
        with open(directory / CHUNKS, encoding="utf-8") as f:
            chunks = [Chunk(**json.loads(line)) for line in f if line.strip()]
    except (OSError, ValueError, TypeError):
        raise IndexCorrupt(f"{directory / CHUNKS} is missing or damaged; {rebuild}") from None
    try:
        lexical = LexicalIndex.load(directory / LEXICAL)
    except Exception:
        raise IndexCorrupt(f"{directory / LEXICAL} is missing or damaged; {rebuild}") from None
    try:
        units = np.load(directory / UNITS, mmap_mode="r")
        unit_vectors = np.load(directory / UNIT_VECTORS, mmap_mode="r") if (directory / UNIT_VECTORS).exists() else None
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
    if units.ndim != 2 or units.shape[1] != 3 or (unit_vectors is not None and len(units) != len(unit_vectors)):
        raise IndexCorrupt(f"the sentence table in {directory} does not match its vectors; {rebuild}")
    if hasattr(vectors, "hnsw"):
        vectors.hnsw.efSearch = HNSW_EF_SEARCH
    if not (vectors.ntotal == len(chunks) == manifest.get("chunks")):
        raise IndexCorrupt(f"index at {directory} has {vectors.ntotal} vectors for {len(chunks)} chunks; {rebuild}")
    if vectors.d != manifest["embedder_dim"]:
        raise IndexCorrupt(
            f"index at {directory} has {vectors.d}-d vectors, manifest says {manifest['embedder_dim']}; {rebuild}"
        )
    return Index(
        manifest,
        chunks,
        vectors,
        lexical,
        np.asarray(units[:, 1:]),
        np.asarray(units[:, 0]),
        unit_vectors,
        documents,
        texts,
    )


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
