"""An embedder for scale benchmarks that reuses vectors instead of computing them all again.

The synthetic corpus (synthetic_corpus.py) is made of perturbed copies of the same articles:
every edition reorders and drops the same sentences. So

- "exact": every text is looked up by its content in a cache on disk (filled by the real
  embedder on a miss): an index rebuilt over the same texts gets the very vectors the
  embedder gives, without embedding them again; a sentence repeated in many editions is
  embedded once. Used up to 200,000 chunks.
- "compose": a chunk (a text of several sentences) gets the normalised sum of its sentences' vectors
  (each sentence embedded by the real model once, then cached), not the model's vector of
  the chunk. A million chunks embedded for real take hours on 2 cores; composed, the
  benchmark fits in well under an hour. `scripts/bench.py` prints how close composed
  vectors are to the real ones (cosine on the 100,000-chunk corpus) where it prints them.

Questions are embedded by the real model at query time either way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from rag.lang.text import sentence_spans


def key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


class VectorCache:
    """text -> float16 vector, saved as two .npy files (keys, vectors)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.rows: dict[bytes, int] = {}
        self.parts: list[np.ndarray] = []
        self.matrix = np.zeros((0, 0), np.float16)
        self.added = 0
        if path is not None and (path / "keys.npy").exists():
            keys = np.load(path / "keys.npy")
            self.matrix = np.load(path / "vectors.npy")
            self.rows = {bytes(k): i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, text: str) -> np.ndarray | None:
        i = self.rows.get(key(text))
        if i is None:
            return None
        if i >= len(self.matrix):
            self._flush()
        return self.matrix[i]

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        fresh = []
        for t, v in zip(texts, vectors):
            k = key(t)
            if k not in self.rows:
                self.rows[k] = len(self.matrix) + sum(len(p) for p in self.parts) + len(fresh)
                fresh.append(v)
        if fresh:
            self.parts.append(np.asarray(fresh, dtype=np.float16))
            self.added += len(fresh)

    def _flush(self) -> None:
        if self.parts:
            self.matrix = np.concatenate([self.matrix.reshape(-1, self.parts[0].shape[1]), *self.parts])
            self.parts = []

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        self._flush()
        self.path.mkdir(parents=True, exist_ok=True)
        keys = np.zeros((len(self.rows), 12), np.uint8)
        for k, i in self.rows.items():
            keys[i] = np.frombuffer(k, np.uint8)
        np.save(self.path / "keys.npy", keys)
        np.save(self.path / "vectors.npy", self.matrix)
        self.added = 0


class ReusingEmbedder:
    """The Embedder interface over a real embedder and a VectorCache (see the module doc)."""

    def __init__(self, real, cache: VectorCache, mode: str = "exact"):
        assert mode in ("exact", "compose")
        self.real, self.cache, self.mode = real, cache, mode
        self.spec, self.dim = real.spec, real.dim
        self.embedded = 0  # texts the real model embedded
        self.composed = 0  # chunks given the sum of their sentences

    def _lookup(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        missing = []
        for i, t in enumerate(texts):
            v = self.cache.get(t)
            if v is None:
                missing.append(i)
            else:
                out[i] = v
        if missing:
            todo = list(dict.fromkeys(texts[i] for i in missing))
            vecs = self.real.encode(todo)
            self.embedded += len(todo)
            self.cache.put(todo, vecs)
            got = dict(zip(todo, vecs))
            for i in missing:
                out[i] = got[texts[i]]
        return out

    def encode(self, texts, progress=None):
        texts = list(texts)
        if self.mode == "exact":
            out = self._lookup(texts)
        else:  # every chunk composed (none looked up whole), so the index is of one kind
            out = np.zeros((len(texts), self.dim), np.float32)
            parts: list[list[str]] = []
            for t in texts:
                spans = sentence_spans(t)
                parts.append([t[s:e] for s, e in spans] if len(spans) > 1 else [t])
            flat = [s for p in parts for s in p]
            vecs = self._lookup(flat)
            at = 0
            for i, p in enumerate(parts):
                v = vecs[at : at + len(p)].sum(axis=0)
                out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
                at += len(p)
                self.composed += len(p) > 1
        if progress:
            progress(len(texts))
        return out
