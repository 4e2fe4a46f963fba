"""llama.cpp in process: a GGUF loaded through llama-cpp-python (LocalModel, a LanguageModel)
and the handle that loads it on first use. Which GGUF to load is rag.llm.catalog's business.

Prompt *content* is built in rag.answer.prompts; this module only knows whether a model wants
a plain completion prompt (base models such as the default Gemma 3 270M) or chat messages
rendered with the model's own template. Everything that reaches into llama-cpp-python's
internals is in `_caching_llama`, below.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import ModelError
from rag.llm.base import Capabilities, Generation, new_counters
from rag.llm.cancel import check
from rag.llm.catalog import ModelChoice, check_gguf
from rag.llm.usage import record

if TYPE_CHECKING:
    from rag.llm.gguf import GGUFInfo

__all__ = ["LocalHandle", "LocalModel", "gpu_offload_supported", "import_llama"]


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


def silence_llama_log() -> None:
    """llama.cpp prints loading details to stderr even with verbose=False (some at log
    level NONE, which llama-cpp-python always prints). Route them into Python logging at
    DEBUG instead; RAG_LLAMA_LOG=1 shows them."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None or os.environ.get("RAG_LLAMA_LOG"):
        return
    llama_cpp = import_llama()
    importlib.import_module("llama_cpp._logger")  # installs its own callback on import; replaced below

    log = logging.getLogger("rag.llama")

    @llama_cpp.llama_log_callback
    def callback(level, text, user_data):
        log.debug(text.decode("utf-8", "replace").rstrip())

    _LOG_CALLBACK = callback  # keep a reference: ctypes callbacks must outlive their use
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


class LocalHandle:
    """A chosen GGUF: its header is read on demand (cheap), the model loaded on first use."""

    def __init__(self, choice: ModelChoice, n_ctx: int = 2048, n_gpu_layers: int = 0, threads: int | None = None):
        self.choice = choice
        self._args = (n_ctx, n_gpu_layers, threads)
        self._info: GGUFInfo | None = None
        self._model: LocalModel | None = None
        self.load_seconds = 0.0

    @property
    def path(self) -> Path:
        return self.choice.path

    @property
    def info(self) -> GGUFInfo:
        if self._info is None:
            from rag.llm.gguf import GGUFError, read_info

            try:
                self._info = read_info(self.path)
            except (GGUFError, OSError) as exc:
                raise ModelError(f"cannot read model {self.path} ({exc}); pass another --model") from None
        return self._info

    @property
    def capabilities(self) -> Capabilities:
        """From the header, as LocalModel will report them once loaded."""
        if self._model is not None:
            return self._model.capabilities
        info = self.info
        return Capabilities(chat=bool(info.chat_template), score=True, n_params=info.n_params or None)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> LocalModel:
        if self._model is None:
            t0 = time.perf_counter()
            self._model = LocalModel(self.path, *self._args)
            self.load_seconds = time.perf_counter() - t0
        return self._model


class LocalModel:
    """A GGUF loaded in-process through llama-cpp-python, memory-mapped; greedy decoding."""

    def __init__(self, path: Path, n_ctx: int = 2048, n_gpu_layers: int = 0, threads: int | None = None):
        check_gguf(path)
        try:
            llama_cpp = import_llama()
        except ImportError:
            raise ModelError("llama-cpp-python is not installed; run `make setup`") from None
        silence_llama_log()
        self.path = path
        # tokens sent in prompts, of those the ones actually evaluated (the rest came from
        # the KV cache), and tokens generated: over the model's life, callers take differences
        self.counters = new_counters()
        try:
            self.llm = _caching_llama(llama_cpp)(
                model_path=str(path),
                n_ctx=n_ctx,
                n_gpu_layers=n_gpu_layers,
                n_threads=threads or max(1, os.cpu_count() or 1),
                n_batch=512,
                use_mmap=True,
                verbose=False,
                seed=0,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load model {path} ({exc}); the file may be damaged, pass another --model"
            ) from None
        # what the call under way has read and written so far, accounted when it ends
        self._pending = {"prompt": 0, "evaluated": 0, "completion": 0}
        self.llm.on_prompt = self._count_prompt
        self.llm.on_token = self._count_token
        self.chat_template: str | None = self.llm.metadata.get("tokenizer.chat_template")
        self.name: str = self.llm.metadata.get("general.name") or path.stem
        self.capabilities = Capabilities(
            chat=bool(self.chat_template), score=True, n_params=int(llama_cpp.llama_model_n_params(self.llm.model))
        )

    @property
    def n_ctx(self) -> int:
        return self.llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def _count_prompt(self, prompt: int, evaluated: int) -> None:
        self._pending["prompt"] += prompt
        self._pending["evaluated"] += evaluated

    def _count_token(self) -> None:
        self._pending["completion"] += 1

    def _count_done(self, kind: str, seconds: float) -> int:
        """Account the call that just ended; returns the tokens it wrote."""
        p = self._pending
        record(self.counters, kind, p["prompt"], p["evaluated"], p["completion"], seconds)
        written = p["completion"]
        self._pending = {"prompt": 0, "evaluated": 0, "completion": 0}
        return written

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        """Greedy completion of a plain prompt, streamed piece by piece."""
        parts = self.llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, stop=stop, stream=True
        )
        return self._stream((part["choices"][0]["text"] for part in parts), out)

    def chat(self, messages: list[dict], max_tokens: int, out: Generation) -> Iterator[str]:
        """Greedy chat completion rendered with the model's own template, streamed."""
        parts = self.llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True)
        # the first delta only names the role: no token, so None, which _stream does not count
        return self._stream((part["choices"][0]["delta"].get("content") or None for part in parts), out)

    def _stream(self, pieces: Iterator[str | None], out: Generation) -> Iterator[str]:
        """Pass each piece of text on as it comes (None: a part that is no text), then
        account for the call and keep its KV state. The tokens written are counted where
        llama.cpp samples them (CachingLlama.generate): a stop sequence's tokens and the end
        token are sampled but never streamed, and a streamed piece may hold several tokens."""
        t0 = time.perf_counter()
        finished = False
        try:
            check()
            for piece in pieces:
                check()  # a request given up stops here, within a token
                if piece is None:
                    continue
                out.text += piece
                yield piece
            finished = True
        finally:
            # a caller that stops reading early still paid for what was read and written
            out.prompt_tokens = self.llm.last_prompt_tokens
            out.seconds = time.perf_counter() - t0
            if finished:
                self.llm.save_slot()
            out.completion_tokens = self._count_done(out.kind, out.seconds)

    def text_logprob(self, prefix: str, text: str) -> tuple[float, int]:
        """Total log-probability of `text`'s tokens after `prefix`, and their number.
        One decode call for all of text's tokens, with logits kept for each of them."""
        check()
        t0 = time.perf_counter()
        head = self.llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True)
        tail = self.llm.tokenize(text.encode("utf-8"), add_bos=False)
        if not tail:
            return 0.0, 0
        total = self.llm.score_after(head, tail)
        self.llm.save_slot()
        self._count_done("score", time.perf_counter() - t0)
        return total, len(tail)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _logprob(logits: Any, token: int, grouped: bool = False) -> float:
    """log-softmax of one entry of a logits row (float32, as llama.cpp returns it). grouped:
    `x - (max + log Σ)` instead of `x - max - log Σ`; float32 rounds the two apart in the last
    bit, and the first token of a scored text has always been computed the grouped way (the
    evidence weights were fitted on those scores)."""
    import numpy as np

    top = logits.max()
    log_sum = np.log(np.exp(logits - top).sum())
    return float(logits[token] - (top + log_sum)) if grouped else float(logits[token] - top - log_sum)


# Prompt kinds whose KV state is kept, told apart by their first tokens; a state over the
# byte cap (a big model's long prompt) is not worth its copy.
STATE_SLOTS = 4
STATE_KEY_TOKENS = 24
STATE_MAX_BYTES = 256 * 2**20
# Prompts are evaluated in batches that end at multiples of this many tokens, and a cached
# prefix is reused only in whole such blocks. llama.cpp's numbers for a token depend a little
# on the batch it was decoded in; reusing a prefix cut wherever the previous prompt happened
# to diverge made an answer depend on the question asked before it (a 270M model copied "90"
# instead of "zehn" after a similar question: scripts/bench_serve.py counted it as a wrong
# answer under load). With fixed blocks every prompt is decoded in the same batches, cold or
# warm, whatever came before. 32: the reuse lost is half a block per prompt on average.
EVAL_BLOCK = 32


def aligned_prefix(common: int, n_prompt: int, canonical: int, block: int = EVAL_BLOCK) -> int:
    """How many leading tokens of a prompt of n_prompt tokens to take from a cache that shares
    `common` of them and holds `canonical` tokens decoded in whole blocks: whole blocks only,
    and at least the last prompt token is decoded again (its logits start the answer). Pure."""
    return max(0, min(common, n_prompt - 1, canonical)) // block * block


# --- llama-cpp-python internals: the one place that reaches into them ---------------------------
#
# Translation, scoring and answer prompts alternate on one KV cache, so each would evict the
# others' fixed prefix (few-shot block, instructions) and re-evaluate it every question. The
# subclass keeps one saved KV state per prompt kind and restores the best one before a prompt.
# llama-cpp-python has no public API for that: its save_state()/load_state() copy the whole
# context state plus its `scores` buffer (n_batch x n_vocab floats, 512 MB for Gemma's 262k
# vocabulary) and clear the rest of that buffer on every load, seconds per prompt. So states
# are copied per sequence with llama.cpp's own llama_state_seq_* functions (a few MB), and the
# three fields Llama.load_state() itself writes are set here by hand: `input_ids[:n_tokens]`
# (the tokens the KV cache holds, which generate() compares a prompt with to skip its cached
# prefix) and `_requires_eval`. Scoring needs logits at every position of a text, which
# Llama.eval() keeps only for logits_all=True (an n_ctx x n_vocab buffer, 2 GB for Gemma),
# so it decodes its own batch and records the tokens the same way. eval() is split at
# EVAL_BLOCK boundaries, and `canonical` counts the leading cached tokens decoded as whole
# blocks (generated tokens are decoded one by one: never canonical).
# Checked against llama-cpp-python 0.3.x (Llama.generate, Llama.eval, Llama.load_state).


@functools.cache
def _caching_llama(llama_cpp: Any) -> Any:
    """The Llama subclass, made once llama_cpp is imported (lazily: it takes a second)."""

    class CachingLlama(llama_cpp.Llama):
        on_prompt: Callable[[int, int], None] = staticmethod(lambda prompt, evaluated: None)
        on_token: Callable[[], None] = staticmethod(lambda: None)
        last_prompt_tokens = 0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # first tokens -> (the tokens the state holds, how many of them are canonical, state)
            self._slots: dict[tuple[int, ...], tuple[list[int], int, bytes]] = {}
            self.canonical = 0
            # the prompt last decoded (by score_after or generate), and the logits of its last
            # token: scoring answers after the prompt the model just answered decodes nothing again
            self._scored: tuple[list[int], Any] | None = None
            self._prompt: list[int] | None = None

        def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any):
            """create_completion and create_chat_completion both end here with the final
            prompt tokens: restore the best saved state, keep whole blocks of it, count,
            then decode as usual (eval() below keeps to the blocks)."""
            tokens = list(tokens)
            self._scored, self._prompt = None, tokens  # eval() keeps the prompt's last logits
            self.restore_longest(tokens)
            keep = self.cached_prefix(tokens)
            self._forget_after(keep)  # generate() then finds exactly `keep` tokens to reuse
            self.last_prompt_tokens = len(tokens)
            self.on_prompt(len(tokens), len(tokens) - keep)
            return self._counted(super().generate(tokens, *args, **kwargs))

        def _counted(self, tokens: Iterator[int]) -> Iterator[int]:
            """Each token sampled is one token written, streamed or not."""
            for token in tokens:
                self.on_token()
                yield token

        def eval(self, tokens: Sequence[int]) -> None:
            """Llama.eval, one batch per block: a batch ends where a block does."""
            tokens = list(tokens)
            self.canonical = min(self.canonical, self.n_tokens)
            i = 0
            while i < len(tokens):
                start = self.n_tokens
                batch = tokens[i : i + EVAL_BLOCK - start % EVAL_BLOCK]
                super().eval(batch)
                if start % EVAL_BLOCK == 0 and len(batch) == EVAL_BLOCK and self.canonical == start:
                    self.canonical = start + EVAL_BLOCK
                i += len(batch)
            if self._prompt is not None and self.n_tokens == len(self._prompt):
                self._scored, self._prompt = (self._prompt, self._last_logits()), None

        def _logits(self, i: int) -> Any:
            """The logits at position i of the last batch decoded (-1: its last), as a view."""
            import numpy as np

            row = llama_cpp.llama_get_logits_ith(self.ctx, i)
            return np.ctypeslib.as_array(row, shape=(self.n_vocab(),))

        def _last_logits(self) -> Any:
            """A copy of the logits after the last token decoded."""
            return self._logits(-1).copy()

        def reset(self) -> None:
            super().reset()
            self.canonical = 0
            self._scored = self._prompt = None

        def cached_prefix(self, tokens: list[int]) -> int:
            """How many leading tokens the KV cache holds already that may be reused."""
            common = _common_prefix(self.input_ids[: self.n_tokens], tokens)
            return aligned_prefix(common, len(tokens), self.canonical)

        def _forget_after(self, n: int) -> None:
            self.n_tokens = n
            self.canonical = min(self.canonical, n)
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self.ctx), 0, n, -1)

        def restore_longest(self, tokens: list[int]) -> None:
            """Load the saved KV state sharing the most reusable leading tokens with
            `tokens`, when it beats what the live cache holds."""
            best, best_len = None, self.cached_prefix(tokens)
            for key, (saved, canonical, _) in self._slots.items():
                n = aligned_prefix(_common_prefix(saved, tokens), len(tokens), canonical)
                if n > best_len:
                    best, best_len = key, n
            if best is None:
                return
            saved, canonical, blob = self._slots[best]
            buf = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
            if llama_cpp.llama_state_seq_set_data(self.ctx, buf, len(blob), 0) != len(blob):
                del self._slots[best]
                self.n_tokens = self.canonical = 0
                llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
                return
            self.input_ids[: len(saved)] = saved
            self.n_tokens = len(saved)
            self.canonical = canonical
            self._requires_eval = True  # the logits are not those of the restored tokens

        def save_slot(self) -> None:
            """Keep the KV state of the prompt just run, one per prompt kind (its first tokens)."""
            n = self.n_tokens
            if n < STATE_KEY_TOKENS or self.canonical < EVAL_BLOCK:
                return
            tokens = [int(t) for t in self.input_ids[:n]]
            size = llama_cpp.llama_state_seq_get_size(self.ctx, 0)
            if size > STATE_MAX_BYTES:
                return
            buf = (ctypes.c_uint8 * size)()
            got = llama_cpp.llama_state_seq_get_data(self.ctx, buf, size, 0)
            key = tuple(tokens[:STATE_KEY_TOKENS])
            self._slots.pop(key, None)
            self._slots[key] = (tokens, self.canonical, bytes(buf)[:got])
            while len(self._slots) > STATE_SLOTS:
                self._slots.pop(next(iter(self._slots)))

        def score_after(self, head: list[int], tail: list[int]) -> float:
            """Sum of log-probabilities of `tail` after `head`: head through eval() (reusing
            the cache), then one batch for tail[:-1] with logits at every position. Several
            texts after one head (a shortlist of answers after one prompt) decode the head
            once: its tokens stay in the cache and its last logits are kept."""
            kept = self._scored
            cached = self.n_tokens >= len(head) and [int(t) for t in self.input_ids[: len(head)]] == head
            if kept is not None and kept[0] == head and cached:
                self.on_prompt(len(head), 0)
                self._forget_after(len(head))
                last = kept[1]
            else:
                self.restore_longest(head)
                common = self.cached_prefix(head)
                self.on_prompt(len(head), len(head) - common)
                self._forget_after(common)
                self.eval(head[common:])
                last = self._last_logits()
                self._scored = (list(head), last)
            total = _logprob(last, tail[0], grouped=True)
            n_past, n = self.n_tokens, len(tail) - 1
            if not n:
                return total
            self._forget_after(n_past)
            batch = llama_cpp.llama_batch_init(n, 0, 1)
            try:
                for i, t in enumerate(tail[:-1]):
                    batch.token[i], batch.pos[i], batch.n_seq_id[i] = t, n_past + i, 1
                    batch.seq_id[i][0], batch.logits[i] = 0, True
                batch.n_tokens = n
                if llama_cpp.llama_decode(self.ctx, batch) != 0:
                    raise ModelError("llama.cpp could not evaluate the scoring batch")
                for i in range(n):
                    total += _logprob(self._logits(i), tail[i + 1])
            finally:
                llama_cpp.llama_batch_free(batch)
            self.input_ids[n_past : n_past + n] = tail[:-1]
            self.n_tokens = n_past + n
            self.on_prompt(n, n)
            return total

    return CachingLlama
