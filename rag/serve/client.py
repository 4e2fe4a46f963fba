"""`rag ask --server URL`: POST a question to a running `rag serve`."""

from __future__ import annotations

import json

from rag.errors import RagError, UsageError


def ask_server(
    url: str,
    question: str,
    k: int | None = None,
    retriever: str = "hybrid",
    timeout: float = 300,
    previous: dict | None = None,
) -> dict:
    """POST a question to a running `rag serve`; the `rag ask --json` object comes back.
    previous: the reply to the question before, when this may be a follow-up to it."""
    import urllib.error
    import urllib.request

    body = {"question": question, "retriever": retriever, **({"k": k} if k else {})}
    if previous is not None:
        body["previous"] = {key: previous.get(key) for key in ("question", "answer", "abstained")}
    req = urllib.request.Request(
        url.rstrip("/") + "/ask", data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode("utf-8")).get("error", "")
        except ValueError:
            message = ""
        raise (UsageError if exc.code == 400 else RagError)(message or f"server answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RagError(
            f"cannot reach rag serve at {url} ({getattr(exc, 'reason', exc)}); start it with `rag serve`"
        ) from None
