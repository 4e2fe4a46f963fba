"""One frozen settings object. Defaults < environment (RAG_*) < command-line options."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from rag.errors import UsageError


DEFAULT_EMBEDDER = "use"  # multilingual USE v3: best German and cross-lingual retrieval, 5x faster


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".")  # root of all on-disk state (RAG_HOME)
    index: Path | None = None  # None: <home>/indexes/default
    embedder: str | None = None  # "minilm", "use" or a folder; None: the index's (ask), DEFAULT_EMBEDDER (index)
    model: str | None = None  # GGUF path; None: first GGUF in <home>/models, else packaged Gemma
    llm_url: str | None = None  # an OpenAI-compatible server to use instead of the in-process model
    llm_model: str | None = None  # the model name to request from that server
    k: int = 5  # chunks retrieved per question
    n_gpu_layers: int = 0
    n_ctx: int = 2048
    max_tokens: int = 48
    # "auto": models of 1B parameters and more answer freely (checked); smaller ones choose
    # from the evidence, which measured better (README). "always" / "never" force it.
    generate: str = "auto"
    translate: bool = True  # translate questions into the corpus language to match its words
    threads: int | None = None  # None: llama.cpp's default for this machine
    chunk_chars: int = 1200  # chosen by scripts/bench_retrieval.py (README: Retrieval)
    chunk_overlap: int = 120
    exact_search_up_to: int = 20_000  # chunks; larger indexes use an HNSW graph
    sentence_vectors_up_to: int = 20_000  # chunks; larger indexes embed sentences when asked
    max_file_mb: int = 1024  # larger files are skipped with a warning (0: no limit)

    @property
    def index_dir(self) -> Path:
        return self.index if self.index is not None else self.home / "indexes" / "default"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


_ENV = {
    "home": "RAG_HOME",
    "index": "RAG_INDEX",
    "embedder": "RAG_EMBEDDER",
    "model": "RAG_MODEL",
    "llm_url": "RAG_LLM_URL",
    "llm_model": "RAG_LLM_MODEL",
    "k": "RAG_K",
    "n_gpu_layers": "RAG_N_GPU_LAYERS",
    "n_ctx": "RAG_N_CTX",
    "max_tokens": "RAG_MAX_TOKENS",
    "threads": "RAG_THREADS",
    "generate": "RAG_GENERATE",
    "max_file_mb": "RAG_MAX_FILE_MB",
}


def _coerce(name: str, raw: str, kind) -> object:
    kind = str(kind)
    try:
        if "int" in kind:
            return int(raw)
        if "Path" in kind:
            return Path(raw)
    except ValueError:
        raise UsageError(f"{_ENV.get(name, name)}={raw!r} is not a number; set it to an integer") from None
    return raw


def load_settings(env: dict | None = None, **overrides) -> Settings:
    """Build settings from defaults, then RAG_* variables, then non-None overrides."""
    env = os.environ if env is None else env
    values = {}
    types = {f.name: f.type for f in fields(Settings)}
    for name, var in _ENV.items():
        if env.get(var):
            values[name] = _coerce(name, env[var], types[name])
    for name, value in overrides.items():
        if value is not None:
            values[name] = Path(value) if name in ("home", "index") else value
    settings = replace(Settings(), **values)
    if settings.k < 1:
        raise UsageError(f"-k must be at least 1 (got {settings.k})")
    if settings.generate not in ("auto", "always", "never"):
        raise UsageError(f"RAG_GENERATE={settings.generate!r}: use auto, always or never")
    return settings
