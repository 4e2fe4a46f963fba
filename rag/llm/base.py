"""The model interface every stage above llm/ talks to, and the records it returns.

Two implementations: llama.py (llama.cpp in process) and remote.py (an OpenAI-compatible
server), plus a fake (fake.py) for tests. Callers read `capabilities` instead of probing
attributes: a server cannot score text, a base model has no chat template, a small model is
not trusted to write answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass
class Generation:
    """What one call produced; filled in while the text streams. kind names the prompt
    (translate, extract, answer) for the answer's per-kind accounting (usage.py)."""

    kind: str = "other"
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


def new_counters() -> dict[str, Any]:
    """Running totals over a model's life; callers take differences around their work.
    prompt: tokens sent in prompts; evaluated: of those, the ones actually computed (the
    rest came from a KV cache); completion: tokens written; seconds: time in the model."""
    return {"prompt": 0, "evaluated": 0, "completion": 0, "seconds": 0.0}


@runtime_checkable
class LanguageModel(Protocol):
    name: str
    counters: dict[str, Any]

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        """Stream a greedy completion of a plain prompt; out collects text and token counts."""
        ...

    def chat(self, messages: list[dict], max_tokens: int, out: Generation) -> Iterator[str]:
        """Stream the greedy reply to chat messages, formatted by the model's own template."""
        ...

    def text_logprob(self, prefix: str, text: str) -> tuple[float, int]:
        """Sum of log-probabilities of text's tokens after prefix, and their count.
        Only when capabilities.score; otherwise raises ModelError."""
        ...


class ModelInfo(Protocol):
    """What is known of a model before loading it (a GGUF header, or a server's name)."""

    @property
    def name(self) -> str: ...

    @property
    def n_params(self) -> int | None: ...

    @property
    def chat_template(self) -> str | None: ...


@runtime_checkable
class ModelHandle(Protocol):
    """A chosen model: described without loading it, loaded on first use."""

    load_seconds: float

    @property
    def path(self) -> Path | str: ...

    @property
    def info(self) -> ModelInfo: ...

    @property
    def capabilities(self) -> Capabilities:
        """As the loaded model will report them, known without loading it."""
        ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> LanguageModel: ...
