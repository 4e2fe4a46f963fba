"""The dense index over the chunk vectors: exact for the corpora a laptop usually holds,
compressed and memory-mapped above a size, where exact search costs too much time and memory.

- "flat-ip": exact inner product on normalised vectors (cosine similarity), in memory.
- "ivf{nlist}-pq{m}-rerank": an inverted file of product-quantised codes (m bytes a vector),
  opened memory-mapped; its best RERANK candidates are re-scored exactly from the float16
  vectors beside it (vectors.npy, memory-mapped too), so the scores a query sees are cosines,
  as with flat search, and only those candidates' rows are read.

`scripts/bench.py --large N` measures the alternatives (HNSW over float32 or 8-bit vectors,
IVF with 8-bit codes) beside this one and exact search: their recall of the exact top 10,
latency, memory and build time; the size above which the compressed index is used is where
exact search becomes slower than it (see EXACT_UP_TO in rag/config.py).
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # faiss is imported when an index is built or loaded: `rag --help` stays instant
    import faiss

FLAT = "flat-ip"
PQ_BYTES = 64  # per vector: 512-d USE vectors in 64 sub-vectors of 8 dimensions
NPROBE = 48  # inverted lists searched per question (of nlist)
# candidates re-scored exactly; `scripts/bench.py --large 1000000` prints recall for 128-1024
# (at 935,660 chunks the top 10's recall was 0.947 at 256, 0.967 at 512)
RERANK = 512
TRAIN_PER_LIST = 40  # k-means wants ~39 points per centroid; more adds training time only
BLOCK = 16_384  # vectors added (and read from disk) at a time: bounded memory


def mapped(path: Path, random: bool = True) -> np.ndarray:
    """An .npy opened memory-mapped, read-only. random: rows are read here and there (a
    question's candidates), so the kernel is told not to read ahead: a cold row costs one
    page from disk, not the 128 KB around it, and the pages of the process stay few."""
    array = np.load(path, mmap_mode="r")
    handle = getattr(array, "_mmap", None)
    if random and handle is not None and hasattr(handle, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)
    return array


def nlist_for(n: int) -> int:
    """Inverted lists for n vectors: FAISS's guideline of about 4 sqrt(n), a power of two,
    with enough vectors to train each centroid (a tiny index, forced by a setting, gets one)."""
    guideline = 2 ** round(math.log2(4 * math.sqrt(max(n, 1))))
    return max(1, min(guideline, n // TRAIN_PER_LIST))


def pq_bits(n: int) -> int:
    """Bits per sub-vector code: 8 (256 centroids each) unless there are too few vectors to train them."""
    return max(1, min(8, int(math.log2(max(n, 2)))))


def kind_for(n: int, exact_up_to: int) -> str:
    """What build() makes for n vectors."""
    return FLAT if n <= exact_up_to else f"ivf{nlist_for(n)}-pq{PQ_BYTES}-rerank"


def is_compressed(kind: str | None) -> bool:
    return bool(kind) and kind != FLAT and not str(kind).startswith("hnsw")


class VectorFile:
    """vectors.npy written a block of rows at a time with ordinary writes (a writable
    memory map would count every page written in the process's resident memory)."""

    def __init__(self, path: Path, n: int, dim: int, dtype=np.float16):
        self.path, self.n, self.dim, self.dtype = Path(path), n, dim, np.dtype(dtype)
        self._f = open(self.path, "wb")
        np.lib.format.write_array_header_1_0(
            self._f, {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (n, dim)}
        )
        self.offset = self._f.tell()
        self.rows = 0

    def write(self, rows: np.ndarray) -> None:
        self._f.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        self._f.close()
        if self.rows != self.n:
            raise ValueError(f"{self.path}: {self.rows} rows written, {self.n} announced")


def read_rows(path: Path, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of an .npy as float32, read (not mapped): memory stays bounded."""
    mapped = np.load(path, mmap_mode="r")  # for its shape, dtype and data offset; no page is read
    dim, dtype, base = mapped.shape[1], mapped.dtype, mapped.offset
    del mapped
    with open(path, "rb") as f:
        f.seek(base + start * dim * dtype.itemsize)
        out = np.fromfile(f, dtype=dtype, count=(stop - start) * dim).reshape(-1, dim)
    return out.astype(np.float32)


def _blocks(path: Path, n: int) -> Iterator[np.ndarray]:
    for start in range(0, n, BLOCK):
        yield read_rows(path, start, min(n, start + BLOCK))


def _sample(path: Path, n: int, size: int, seed: int = 0) -> np.ndarray:
    """size rows spread over the file (whole blocks at random offsets: few reads)."""
    if size >= n:
        return read_rows(path, 0, n)
    rng = np.random.default_rng(seed)
    step = 1024
    starts = np.sort(rng.choice(max(1, n // step), size=max(1, size // step), replace=False)) * step
    return np.concatenate([read_rows(path, int(s), min(n, int(s) + step)) for s in starts])


def build(kind: str, vectors: np.ndarray | Path, n: int, dim: int, threads: int | None = None) -> faiss.Index:
    """The FAISS index of `kind` over n vectors (an array, or an .npy file read in blocks)."""
    import faiss

    if threads:
        faiss.omp_set_num_threads(threads)
    if kind == FLAT:
        index = faiss.IndexFlatIP(dim)
        if isinstance(vectors, Path):
            for block in _blocks(vectors, n):
                index.add(block)
        else:
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index
    nlist = nlist_for(n)
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFPQ(quantizer, dim, nlist, PQ_BYTES, pq_bits(n), faiss.METRIC_INNER_PRODUCT)
    size = min(n, max(nlist, 256) * TRAIN_PER_LIST)
    if isinstance(vectors, Path):
        sample = _sample(vectors, n, size)
    else:
        pick = np.random.default_rng(0).choice(n, size=size, replace=False) if size < n else slice(None)
        sample = np.asarray(vectors[pick], dtype=np.float32)
    ivf.train(sample)
    del sample
    if isinstance(vectors, Path):
        for block in _blocks(vectors, n):
            ivf.add(block)
    else:
        for start in range(0, n, BLOCK):
            ivf.add(np.asarray(vectors[start : start + BLOCK], dtype=np.float32))
    return ivf


def write(index: faiss.Index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def read(path: Path, kind: str | None) -> faiss.Index:
    """A compressed index is memory-mapped (its inverted lists stay on disk until searched)."""
    import faiss

    if is_compressed(kind):
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        faiss.extract_index_ivf(index).nprobe = NPROBE
        return index
    return faiss.read_index(str(path))


def search(
    index: faiss.Index, full: np.ndarray | None, qvec: np.ndarray, k: int, rerank: int = RERANK
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, cosine similarities) of the k best chunks, best first. full: the float16
    vectors (memory-mapped) that re-score a compressed index's candidates exactly."""
    q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
    if full is None:
        scores, ids = index.search(q, min(k, index.ntotal))
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]
    _, ids = index.search(q, min(max(k, rerank), index.ntotal))
    cand = ids[0][ids[0] >= 0]
    cand.sort()  # rows in file order: fewer, sequential page reads
    exact = np.asarray(full[cand], dtype=np.float32) @ q[0]
    order = np.lexsort((cand, -exact))[:k]
    return cand[order], exact[order]


def quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and a float32 scale each (row ≈ q * scale): a quarter of float32, and a
    cosine within about 1e-3 of the exact one for unit vectors. The sentence vectors of a
    large index are kept so (six or so per chunk)."""
    rows = np.asarray(rows, dtype=np.float32)
    scale = np.abs(rows).max(axis=1) / 127.0 if len(rows) else np.zeros(0, np.float32)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8), scale
