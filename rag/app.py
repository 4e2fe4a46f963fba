"""Wiring: the functions the CLI (and Python users) call. Each loads what it needs once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rag.answer.pipeline import Answerer
from rag.config import Settings
from rag.index import store
from rag.index.build import IndexReport, build_index
from rag.index.embedders import Embedder, load_embedder, resolve_embedder
from rag.index.retrieve import Retriever
from rag.llm.base import ModelHandle


def index(
    paths: list[Path],
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    full: bool = False,
    reading: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> IndexReport:
    return build_index(paths, settings, progress, full, reading, workers)


def open_retriever(settings: Settings, loaded: Embedder | None = None) -> Retriever:
    """Load the index and the embedder that built it (or fail if --embedder disagrees).
    loaded: an embedder already in memory, used when it is the one the index needs (a
    server switching to a rebuilt index)."""
    manifest = store.read_manifest(settings.index_dir)
    if settings.embedder:
        store.check_embedder(settings.index_dir, manifest, resolve_embedder(settings.embedder))
    index_ = store.load(settings.index_dir)
    if loaded is not None and loaded.spec.same_model(index_.embedder):
        embedder = loaded
    else:
        embedder = load_embedder(index_.embedder)
    store.check_dimension(settings.index_dir, manifest, embedder.dim)
    return Retriever(index_, embedder)


def model_handle(settings: Settings) -> ModelHandle:
    """Find the model now (a wrong --model fails before any work, the packaged default is
    assembled if need be); load it when first needed. With --llm-url, a server does the
    model's work."""
    if settings.llm_url:
        from rag.llm.remote import RemoteHandle

        return RemoteHandle(settings.llm_url, settings.llm_model)
    from rag.llm.catalog import resolve_model
    from rag.llm.llama import LocalHandle

    choice = resolve_model(settings.model, settings.models_dir)
    return LocalHandle(choice, settings.n_ctx, settings.n_gpu_layers, settings.threads)


def open_answerer(settings: Settings) -> Answerer:
    return Answerer(settings, open_retriever(settings), model_handle(settings))


def evaluate(
    gold: list,
    settings: Settings,
    retrieval_only: bool = False,
    retriever: str = "hybrid",
    strategy: str = "checked",
    progress=None,
) -> dict:
    """Run a gold set with every model loaded once; returns the report."""
    from rag import __version__
    from rag.eval import run as ev

    answerer = None if retrieval_only else open_answerer(settings)
    retriever_ = answerer.retriever if answerer else open_retriever(settings)
    items, summary = ev.run(gold, retriever_, answerer, settings.k, retriever, strategy, progress)
    manifest = retriever_.index.manifest
    config = {
        "index": str(settings.index_dir),
        "embedder": manifest["embedder"]["name"],
        "chunks": manifest["chunks"],
        "model": None if answerer is None else str(answerer.handle.path),
        "generates": None if answerer is None else answerer.generates(),
        "k": settings.k,
        "retriever": retriever,
        "strategy": strategy,
        "retrieval_only": retrieval_only,
        "git_commit": ev.git_commit(),
        # the reader's abstention threshold: the report draws it over the answers' confidences
        "abstain_threshold": None if answerer is None else answerer.reader.threshold,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rag_version": __version__,
    }
    return {"summary": summary, "items": items, "config": config}


def write_json(path: Path, obj) -> None:
    """Write JSON whole or not at all: a temporary file renamed into place."""
    import json

    write_text(path, json.dumps(obj, ensure_ascii=False, indent=1))


def write_text(path: Path, text: str) -> None:
    """Write a file whole or not at all: a temporary file renamed into place."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
