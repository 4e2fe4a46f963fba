"""Wiring: the functions the CLI (and Python users) call. Each loads what it needs once."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rag import store
from rag.answer import Answerer
from rag.config import Settings
from rag.embedders import load_embedder, resolve_embedder
from rag.generate import LocalModel, resolve_model
from rag.indexer import IndexReport, build_index
from rag.retrieve import Retriever


def index(paths: list[Path], settings: Settings,
          progress: Callable[[int, int], None] | None = None) -> IndexReport:
    return build_index(paths, settings, progress)


def open_retriever(settings: Settings) -> Retriever:
    """Load the index and the embedder that built it (or fail if --embedder disagrees)."""
    manifest = store.read_manifest(settings.index_dir)
    if settings.embedder:
        store.check_embedder(settings.index_dir, manifest, resolve_embedder(settings.embedder))
    index_ = store.load(settings.index_dir)
    embedder = load_embedder(index_.embedder)
    store.check_dimension(settings.index_dir, manifest, embedder.dim)
    return Retriever(index_, embedder)


def model_loader(settings: Settings) -> Callable[[], LocalModel]:
    """Find the model now (a wrong --model fails before any work); load it when first needed."""
    choice = resolve_model(settings.model, settings.models_dir)

    def load() -> LocalModel:
        return LocalModel(choice.path, settings.n_ctx, settings.n_gpu_layers, settings.threads)
    return load


def open_answerer(settings: Settings) -> Answerer:
    return Answerer(settings, open_retriever(settings), model_loader(settings))
