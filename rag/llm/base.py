"""The model interface every stage above llm/ talks to, and the records it returns.

Two implementations live here (llama.py: llama.cpp in process; remote.py: an
OpenAI-compatible server) and a fake (fake.py) for tests. Callers ask `capabilities`
instead of probing attributes: a server cannot score text, a base model has no chat
template, a small model is not trusted to write answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable


@dataclass
class Generation:
    """What one call produced; filled in while the text streams."""

    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    chat: bool  # has a chat template: prompt with messages, not few-shot completion
    score: bool  # can return log-probabilities of a given text (text_logprob)
    n_params: int | None  # None: unknown (a server), assumed to be a capable model


def new_counters() -> dict:
    """Running totals over a model's life; callers take differences around their work.
    prompt: tokens sent in prompts; evaluated: of those, the ones actually computed (the
    rest came from a KV cache); completion: tokens written; seconds: time in the model."""
    return {"prompt": 0, "evaluated": 0, "completion": 0, "seconds": 0.0}


@runtime_checkable
class LanguageModel(Protocol):
    name: str
    counters: dict

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        """Stream a completion of a plain prompt; out collects text and token counts."""
        ...

    def chat(self, messages: list[dict], max_tokens: int, out: Generation) -> Iterator[str]:
        """Stream the reply to chat messages, formatted by the model's own template."""
        ...

    def text_logprob(self, prefix: str, text: str) -> tuple[float, int]:
        """Sum of log-probabilities of text's tokens after prefix, and their count.
        Only when capabilities.score."""
        ...


class ModelHandle(Protocol):
    """A chosen model: described without loading it, loaded on first use."""

    path: Path | str
    load_seconds: float

    @property
    def loaded(self) -> bool: ...

    def load(self) -> LanguageModel: ...
