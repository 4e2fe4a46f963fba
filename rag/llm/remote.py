"""Generation on an OpenAI-compatible server (llama.cpp's llama-server, vLLM, Ollama,
llama-cpp-python's server) instead of the in-process model: `--llm-url URL`.

Speaks plain HTTP with the standard library, so the default install needs nothing more.
A remote model writes answers through the server's chat template and translates
questions; it cannot score text (no per-token log-probabilities of a given text), so
abstention uses the evidence features without the model's score.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from rag.errors import ModelError
from rag.llm.base import Capabilities, Generation, new_counters
from rag.llm.cancel import check
from rag.llm.usage import record


@dataclass
class RemoteInfo:
    name: str
    n_params: int | None = None  # unknown: a server is assumed to hold a capable model
    chat_template: str | None = "server"
    context_length: int | None = None


class RemoteModel:
    # the server's model is unknown: assumed capable, chatting through the server's template
    capabilities = Capabilities(chat=True, score=False, n_params=None)
    n_ctx = 4096

    def __init__(self, url: str, model: str | None = None, timeout: float = 120.0):
        self.url = url.rstrip("/")
        if not self.url.endswith("/v1"):
            self.url += "/v1"
        self.model = model
        self.timeout = timeout
        self.name = model or self.url
        self.counters = new_counters()

    def _post(self, path: str, body: dict) -> dict:
        check()
        if self.model:
            body = {**body, "model": self.model}
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:200]
            raise ModelError(f"the LLM server at {self.url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(
                f"cannot reach the LLM server at {self.url} ({reason}); start it or drop --llm-url"
            ) from None

    def _account(self, data: dict, t0: float, out: Generation) -> None:
        usage = data.get("usage") or {}
        out.prompt_tokens = int(usage.get("prompt_tokens", 0))
        out.completion_tokens = int(usage.get("completion_tokens", 0))
        out.seconds = time.perf_counter() - t0
        # the server evaluated what it was sent: its cache, if any, is not reported
        record(self.counters, out.kind, out.prompt_tokens, out.prompt_tokens, out.completion_tokens, out.seconds)

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1  # the server's tokenizer is not at hand; this errs on the long side

    def complete(self, prompt: str, max_tokens: int, stop: list[str], out: Generation) -> Iterator[str]:
        t0 = time.perf_counter()
        data = self._post(
            "/completions", {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "stop": stop}
        )
        text = (data.get("choices") or [{}])[0].get("text") or ""
        out.text += text
        self._account(data, t0, out)
        yield text

    def chat(self, messages: list[dict], max_tokens: int, out: Generation) -> Iterator[str]:
        t0 = time.perf_counter()
        data = self._post("/chat/completions", {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0})
        text = ((data.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        out.text += text
        self._account(data, t0, out)
        yield text

    def text_logprob(self, prefix: str, text: str) -> tuple[float, int]:
        raise ModelError(f"the LLM server at {self.url} cannot score text (capabilities.score is False)")


class RemoteHandle:
    """The ModelHandle of a server: nothing to load, nothing to read from disk."""

    loaded = True
    load_seconds = 0.0

    def __init__(self, url: str, model: str | None = None):
        self._model = RemoteModel(url, model)
        self.path = self._model.url
        self.info = RemoteInfo(self._model.name)
        self.capabilities = self._model.capabilities

    def load(self) -> RemoteModel:
        return self._model
