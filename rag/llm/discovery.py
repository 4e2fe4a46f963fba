"""Find the GGUF models on this machine: rag's own (the packaged default, models/) and the
ones other local-LLM tools already downloaded (Ollama, LM Studio, the Hugging Face cache),
so `--model` can take a name instead of a path.

Only headers are read (rag.llm.gguf, memory-mapped), so listing stays fast however large the
models are. Everything is looked up under `home` and the tools' own environment variables,
so tests can point it at a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Mapping

from rag.errors import ModelError

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_DEFAULT_PREFIX = "registry.ollama.ai/library/"  # Ollama shows these as `model:tag`
_FIRST_SPLIT_PART = re.compile(r"(.*)-00001-of-(\d{5})\.gguf", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A file that may be a model, named the way its tool names it; nothing read yet."""

    name: str
    path: Path
    source: str  # "packaged", "models/", "ollama", "lm-studio", "hf-cache"


@dataclass(frozen=True)
class Skipped:
    where: str
    reason: str


@dataclass(frozen=True)
class FoundModel:
    name: str
    path: Path
    source: str
    size: int  # bytes, all parts of a split model
    quantization: str
    context_length: int | None
    chat_template: bool
    n_params: int
    architecture: str

    def to_json(self) -> dict:
        return {**asdict(self), "path": str(self.path)}


def discover(home: Path | None = None, models_dir: Path | None = None,
             env: Mapping[str, str] | None = None) -> tuple[list[FoundModel], list[Skipped]]:
    """Every GGUF model found, in source order, each file once; and what was passed over, why."""
    found, skipped = [], []
    for c in _unique(candidates(home, models_dir, env)):
        if isinstance(c, Skipped):
            skipped.append(c)
            continue
        try:
            found.append(describe(c))
        except OSError as exc:
            broken = c.path.is_symlink() and not c.path.exists()
            skipped.append(Skipped(str(c.path), "broken symbolic link" if broken else exc.strerror or str(exc)))
        except (ValueError, struct.error) as exc:  # GGUFError is a ValueError
            skipped.append(Skipped(str(c.path), str(exc)))
    return found, skipped


def find_model(name: str, home: Path | None = None, models_dir: Path | None = None,
               env: Mapping[str, str] | None = None) -> Candidate:
    """The model `rag models` lists as `name`: the exact name, else a case-insensitive match of
    the name or its file name (`model` finds Ollama's `model:latest`), else a unique prefix."""
    # every name counts, also those of a file listed once under another name (Ollama tags
    # sharing a blob); matches are then taken once per file
    models = [c for c in candidates(home, models_dir, env) if isinstance(c, Candidate)]
    key = name.casefold()

    def names(c: Candidate) -> tuple[str, str]:
        return c.name.casefold(), c.name.rsplit("/", 1)[-1].casefold()

    for matches in ([c for c in models if c.name == name],
                    [c for c in models if {key, key + ":latest"} & set(names(c))],
                    [c for c in models if any(n.startswith(key) for n in names(c))]):
        matches = [c for c in _unique(iter(matches)) if isinstance(c, Candidate)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(f"{c.name} ({c.source})" for c in matches[:4]) + (", ..." if len(matches) > 4 else "")
            raise ModelError(f"--model {name!r} matches {len(matches)} models: {listed}; "
                             f"pass a full name from `rag models` or a path")
    if "/" in name or os.sep in name or key.endswith(".gguf"):  # most likely meant as a path
        raise ModelError(f"model file {name} does not exist and no model has that name; "
                         f"pass a GGUF file or a name `rag models` lists")
    raise ModelError(f"no model named {name!r}; `rag models` lists the names --model takes, or pass a .gguf path")


def describe(c: Candidate) -> FoundModel:
    """Read the header. Raises OSError or ValueError (GGUFError) for what is not a usable model."""
    from rag.llm.gguf import GGUFError, read_info

    with open(c.path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFError("not a GGUF file")
    info = read_info(c.path)
    if info.architecture == "clip":
        raise GGUFError("a vision projector (mmproj), not a language model")
    if info.metadata.get("split.no", 0) != 0:
        raise GGUFError("a later part of a split model; the first part is listed")
    return FoundModel(c.name, c.path, c.source, _size(c.path), info.quantization, info.context_length,
                      bool(info.chat_template), info.n_params, info.architecture)


def _size(path: Path) -> int:
    """llama.cpp loads a split model from its first part; its size is that of all parts."""
    m = _FIRST_SPLIT_PART.fullmatch(path.name)
    if not m:
        return path.stat().st_size
    parts = (path.with_name(f"{m[1]}-{i:05d}-of-{m[2]}.gguf") for i in range(1, int(m[2]) + 1))
    return sum(p.stat().st_size for p in parts if p.exists())


def candidates(home: Path | None = None, models_dir: Path | None = None,
               env: Mapping[str, str] | None = None) -> Iterator[Candidate | Skipped]:
    """Files that may be models, in the order `rag models` lists them; cheap (no header read)."""
    home = Path.home() if home is None else Path(home)
    env = os.environ if env is None else env
    yield from _packaged()
    if models_dir is not None and models_dir.is_dir():
        for p in sorted(models_dir.iterdir()):
            if p.name.lower().endswith(".gguf"):
                yield Candidate(p.name, p, "models/")
    yield from _ollama(Path(env["OLLAMA_MODELS"]) if env.get("OLLAMA_MODELS") else home / ".ollama" / "models")
    for root in (home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"):
        for p in _ggufs(root):
            yield Candidate(p.relative_to(root).as_posix(), p, "lm-studio")
    yield from _hf_cache(_hf_hub(home, env))


def _unique(items: Iterator[Candidate | Skipped]) -> Iterator[Candidate | Skipped]:
    """Each real file once (the first source wins): a models/ link to a blob is one model."""
    seen = set()
    for c in items:
        if isinstance(c, Candidate):
            try:
                real = c.path.resolve()
            except (OSError, RuntimeError):  # a symlink loop
                yield Skipped(str(c.path), "symbolic link loop")
                continue
            if real in seen:
                continue
            seen.add(real)
        yield c


def _packaged() -> Iterator[Candidate | Skipped]:
    from rag.llm.llama import packaged_default

    try:
        path = packaged_default()
    except ModelError as exc:
        yield Skipped("packaged default", str(exc))
        return
    yield Candidate(path.name, path, "packaged")


def _ggufs(root: Path) -> list[Path]:
    """*.gguf anywhere under root; unreadable folders are passed over, links to folders not
    followed (no loops)."""
    return sorted(Path(d) / f for d, _, files in os.walk(root) for f in files if f.lower().endswith(".gguf"))


def _ollama(root: Path) -> Iterator[Candidate | Skipped]:
    """manifests/<registry>/<namespace>/<model>/<tag> name the model layer's blob, stored as
    blobs/sha256-<hex>."""
    manifests = root / "manifests"
    for d, _, files in sorted(os.walk(manifests)):
        for tag in sorted(files):
            path = Path(d) / tag
            parts = path.relative_to(manifests).parts
            if len(parts) != 4:
                continue
            full = "/".join(parts[:3]) + ":" + tag
            name = full.removeprefix(OLLAMA_DEFAULT_PREFIX).removeprefix("registry.ollama.ai/")
            try:
                layers = json.loads(path.read_text(encoding="utf-8")).get("layers") or []
                digest = next(layer["digest"] for layer in layers if layer.get("mediaType") == OLLAMA_MODEL_LAYER)
            except (OSError, ValueError, AttributeError, KeyError, TypeError):
                yield Skipped(str(path), "unreadable Ollama manifest")
                continue
            except StopIteration:
                yield Skipped(str(path), "Ollama manifest without a model layer")
                continue
            yield Candidate(name, root / "blobs" / str(digest).replace(":", "-", 1), "ollama")


def _hf_hub(home: Path, env: Mapping[str, str]) -> Path:
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]) / "hub"
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    return cache / "huggingface" / "hub"


def _hf_cache(hub: Path) -> Iterator[Candidate]:
    """models--<org>--<repo>/snapshots/<revision>/<file>: the newest revision of a file wins."""
    for repo_dir in sorted(hub.glob("models--*")):
        repo = repo_dir.name.removeprefix("models--").replace("--", "/")
        snapshots = [p for p in (repo_dir / "snapshots").glob("*") if p.is_dir()]
        seen = set()
        for snap in sorted(snapshots, key=lambda p: p.stat().st_mtime, reverse=True):
            for p in _ggufs(snap):
                name = f"{repo}/{p.relative_to(snap).as_posix()}"
                if name not in seen:
                    seen.add(name)
                    yield Candidate(name, p, "hf-cache")
