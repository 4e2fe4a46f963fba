"""One frozen settings object. Defaults < rag.toml < environment (RAG_*) < command-line options;
`explain_settings` also says where each value came from (`rag config`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, cast

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
    # chunks; larger indexes are compressed (IVF-PQ, exact re-scoring) and memory-mapped: from
    # 10,000 vectors exact search measured slower than that (scripts/bench.py --large, "compression pays from")
    exact_search_up_to: int = 10_000
    # None: every index keeps its sentences' vectors (int8 in a large one); a number: larger
    # indexes keep none and a question embeds its chunks' sentences (faster build, slower question)
    sentence_vectors_up_to: int | None = None
    max_file_mb: int = 1024  # larger files are skipped with a warning (0: no limit)
    read_timeout: int = 120  # seconds to read one HTML/PDF/DOCX/EPUB file before it is skipped

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
    "read_timeout": "RAG_READ_TIMEOUT",
}


CONFIG_NAME = "rag.toml"
_TYPES = {f.name: f.type for f in fields(Settings)}  # annotation strings: "int", "Path | None", ...
_PATHS = ("home", "index", "model")  # relative paths in a rag.toml are taken from the file's folder


@dataclass(frozen=True)
class Explained:
    """The effective settings, the source of each value, and the config file read (None: none found)."""

    settings: Settings
    sources: dict[str, str]
    config_file: Path | None
    looked_for: tuple[Path, ...]  # where a rag.toml was looked for


def load_settings(env: Mapping[str, str] | None = None, config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, then rag.toml, then RAG_* variables, then non-None overrides."""
    return explain_settings(env, config, **overrides).settings


def explain_settings(env: Mapping[str, str] | None = None, config: Path | None = None, **overrides: Any) -> Explained:
    """overrides: Settings fields by name (the command-line options, typed by click); None: not given."""
    environ: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, object] = {}
    sources = {name: "default" for name in _TYPES}

    def put(name: str, value: object, source: str) -> None:
        values[name] = value
        sources[name] = source

    # home is needed first: a rag.toml may live there
    home = Path(overrides.get("home") or environ.get("RAG_HOME") or Settings.home)
    config_file, looked_for = find_config(config, environ, home)
    if config_file is not None:
        for name, value in read_config(config_file).items():
            put(name, value, f"{CONFIG_NAME} ({config_file})")
    for name, var in _ENV.items():
        if environ.get(var):
            put(name, _coerce(name, environ[var]), f"env {var}")
    for name, value in overrides.items():
        if value is not None:
            put(name, Path(value) if name in ("home", "index") else value, f"option {_option_name(name)}")
    # Each value has its field's type: read_config checks the file's against _kind, _coerce
    # converts the environment's, and click types the options.
    settings = replace(Settings(), **cast(dict[str, Any], values))
    if settings.k < 1:
        raise UsageError(f"k must be at least 1 (got {settings.k}, from {sources['k']})")
    if settings.generate not in ("auto", "always", "never"):
        raise UsageError(f"generate = {settings.generate!r} (from {sources['generate']}): use auto, always or never")
    return Explained(settings, sources, config_file, looked_for)


def find_config(explicit: Path | None, env: Mapping[str, str], home: Path) -> tuple[Path | None, tuple[Path, ...]]:
    """--config, else RAG_CONFIG (both must exist), else ./rag.toml, else <home>/rag.toml."""
    named = explicit or env.get("RAG_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            how = "--config" if explicit else "RAG_CONFIG"
            raise UsageError(f"config file {path} ({how}) not found; create it or drop {how}")
        return path.resolve(), (path,)
    candidates = tuple(dict.fromkeys(p.resolve() for p in (Path(CONFIG_NAME), home / CONFIG_NAME)))
    return next((p for p in candidates if p.is_file()), None), candidates


def read_config(path: Path) -> dict[str, object]:
    """The settings in a TOML file (top level or a [rag] table), checked against Settings' fields."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    table = data.pop("rag", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: 'rag' must be a table ([rag]) of settings")
    values: dict[str, object] = {}
    for name, value in {**data, **table}.items():
        if name not in _TYPES:
            raise UsageError(f"{path}: unknown key {name!r}; valid keys: {', '.join(_TYPES)}")
        kind, expected = _kind(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UsageError(f"{path}: {name} = {json.dumps(value, default=str)} should be {expected}")
        if name in _PATHS:
            assert isinstance(value, str), "_kind makes every path setting a string, checked just above"
            resolved = path.parent / Path(value).expanduser()
            value = str(resolved) if name == "model" else resolved
        values[name] = value
    return values


def _kind(name: str) -> tuple[type, str]:
    t = _TYPES[name]
    if "Path" in t or name == "model":
        return str, "a path (a quoted string)"
    if "int" in t:
        return int, "an integer"
    if "bool" in t:
        return bool, "true or false"
    return str, "a quoted string"


def _coerce(name: str, raw: str) -> object:
    kind, _ = _kind(name)
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f"{_ENV[name]}={raw!r} is not a number; set it to an integer") from None
    return Path(raw) if "Path" in _TYPES[name] else raw


def _option_name(name: str) -> str:
    return "-k" if name == "k" else "--" + name.replace("_", "-")
