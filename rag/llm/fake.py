"""A deterministic LanguageModel for tests: replies and scores are queued or computed by
functions the test gives, and every call is recorded. No llama.cpp, no files."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError
from rag.llm.base import Capabilities, Generation, new_counters
from rag.llm.cancel import check
from rag.llm.usage import record


class FakeModel:
    def __init__(
        self,
        replies: Sequence[str] | Callable[[str], str] = (),
        *,
        score: Callable[[str, str], float] | None = None,
        chat: bool = False,
        n_params: int | None = 270_000_000,
        n_ctx: int = 2048,
        name: str = "fake",
    ):
        """replies: answers to complete()/chat() in order (then ""), or a function of the
        prompt. score: log-probability per token of text after prefix; None: the model
        cannot score (like a server)."""
        self._replies = replies if callable(replies) else deque(replies)
        self._score = score
        self.capabilities = Capabilities(chat=chat, score=score is not None, n_params=n_params)
        self.n_ctx = n_ctx
        self.name = name
        self.counters = new_counters()
        self.calls: list[tuple[str, str]] = []  # (kind, prompt or prefix+text)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def _reply(self, prompt: str) -> str:
        if callable(self._replies):
            return self._replies(prompt)
        return self._replies.popleft() if self._replies else ""

    def _stream(self, kind: str, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        self.calls.append((kind, prompt))
        text = self._reply(prompt)
        for s in stop:
            if s and s in text:
                text = text[: text.index(s)]
        words = text.split(" ")[:max_tokens] if text else []
        out.prompt_tokens = self.count_tokens(prompt)
        try:
            check()
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                out.text += piece
                out.completion_tokens += 1
                yield piece
        finally:
            record(self.counters, out.kind, out.prompt_tokens, out.prompt_tokens, out.completion_tokens, 0.0)

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        return self._stream("complete", prompt, max_tokens, stop, out)

    def chat(self, messages: list[dict], max_tokens: int, out: Generation) -> Iterator[str]:
        return self._stream("chat", "\n".join(m["content"] for m in messages), max_tokens, [], out)

    def text_logprob(self, prefix: str, text: str) -> tuple[float, int]:
        if self._score is None:
            raise ModelError("this model cannot score text (capabilities.score is False)")
        self.calls.append(("score", prefix + text))
        n = self.count_tokens(text)
        record(self.counters, "score", self.count_tokens(prefix) + n, self.count_tokens(prefix) + n, 0, 0.0)
        return self._score(prefix, text) * n, n


@dataclass(frozen=True)
class FakeInfo:
    name: str
    n_params: int | None
    chat_template: str | None


class FakeHandle:
    """A ModelHandle around a FakeModel."""

    loaded = True
    load_seconds = 0.0

    def __init__(self, model: FakeModel):
        self.model = model
        self.path = Path(f"{model.name}.gguf")
        self.capabilities = model.capabilities
        self.info = FakeInfo(model.name, model.capabilities.n_params, "fake" if model.capabilities.chat else None)

    def load(self) -> FakeModel:
        return self.model
