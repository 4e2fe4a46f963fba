"""What the model read and wrote for one answer, per prompt kind: the one place a model call
is accounted.

Every model (llama.py, remote.py, fake.py) reports each finished call to `record()` with its
kind (the caller names it in Generation.kind: "translate", "extract", "answer"; scoring is
"score"). record() adds it to the model's running counters and to the Usage of the answer
being made in this thread, if one is recording. A Usage lives in a context variable rather
than being diffed from the model's counters, so two answers made at once (a server's
threads) never count each other's calls.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KINDS = ("translate", "extract", "answer", "score")


@dataclass
class KindUsage:
    calls: int = 0
    prompt_tokens: int = 0  # tokens of the prompts sent
    prompt_tokens_evaluated: int = 0  # of those, the ones computed (the rest came from a KV cache)
    completion_tokens: int = 0  # tokens the model wrote (sampled), stop and end tokens included
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "completion_tokens": self.completion_tokens,
            "ms": round(self.seconds * 1000, 2),
        }


@dataclass
class Usage:
    """The model calls of one answer, summed per kind."""

    kinds: dict[str, KindUsage] = field(default_factory=dict)

    def add(self, kind: str, prompt: int, evaluated: int, completion: int, seconds: float) -> None:
        k = self.kinds.setdefault(kind, KindUsage())
        k.calls += 1
        k.prompt_tokens += prompt
        k.prompt_tokens_evaluated += evaluated
        k.completion_tokens += completion
        k.seconds += seconds

    def total(self) -> KindUsage:
        out = KindUsage()
        for k in self.kinds.values():
            out.calls += k.calls
            out.prompt_tokens += k.prompt_tokens
            out.prompt_tokens_evaluated += k.prompt_tokens_evaluated
            out.completion_tokens += k.completion_tokens
            out.seconds += k.seconds
        return out

    def by_kind(self) -> dict[str, dict]:
        """{kind: {calls, prompt_tokens, prompt_tokens_evaluated, completion_tokens, ms}},
        known kinds first, in the order an answer makes them."""
        order = {kind: i for i, kind in enumerate(KINDS)}
        return {kind: self.kinds[kind].to_json() for kind in sorted(self.kinds, key=lambda k: (order.get(k, 99), k))}


_current: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("rag_model_usage", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Usage]:
    """Collect the model calls made in this thread (context) until the block ends."""
    usage = Usage()
    token = _current.set(usage)
    try:
        yield usage
    finally:
        _current.reset(token)


def record(counters: dict[str, Any], kind: str, prompt: int, evaluated: int, completion: int, seconds: float) -> None:
    """Account one finished model call: the model's running counters, and the answer being
    made here if it is recording."""
    counters["prompt"] += prompt
    counters["evaluated"] += evaluated
    counters["completion"] += completion
    counters["seconds"] += seconds
    usage = _current.get()
    if usage is not None:
        usage.add(kind, prompt, evaluated, completion, seconds)
