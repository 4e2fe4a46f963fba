"""`rag serve`: keep the models warm and answer `POST /ask` with the `rag ask --json` object.

A follow-up may send the previous turn along: {"question": "Und wer wird Interims-CEO?",
"previous": <the reply to the question before (its question, answer and abstained are read)>}.

Standard-library HTTP, one answer at a time (the model and its KV cache are not shared
between threads), bound to loopback unless told otherwise.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rag.errors import RagError, UsageError
from rag.types import Turn

MAX_BODY = 64 * 1024


def previous_turn(obj) -> Turn | None:
    """The "previous" member of a request: the last turn's question and answer (an
    abstention's answer is ignored: it names nothing a follow-up could mean)."""
    if obj is None:
        return None
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("question"), str)
        or not isinstance(obj.get("answer"), (str, type(None)))
        or not isinstance(obj.get("abstained", False), bool)
    ):
        raise UsageError('previous must be like {"question": "...", "answer": "...", "abstained": false}')
    return Turn(obj["question"], None if obj.get("abstained") else obj.get("answer"))


def make_handler(answerer, lock: threading.Lock):
    from rag.cli.render import answer_json
    from rag.web import page, stream

    class Handler(BaseHTTPRequestHandler):
        server_version = "rag"

        def _send(self, status: int, obj: dict) -> None:
            body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):  # one line per request on stderr, no noise
            pass

        def do_GET(self):
            if page.wants_page(self.path, self.headers.get("Accept", "")):  # the page for a browser (rag/web)
                page.send_page(self)
                return
            if self.path.rstrip("/") in ("", "/health"):
                m = answerer.retriever.index.manifest
                self._send(
                    200,
                    {
                        "status": "ok",
                        "chunks": m["chunks"],
                        "embedder": m["embedder"]["name"],
                        "model": str(answerer.handle.path),
                    },
                )
            else:
                self._send(404, {"error": "not found; use POST /ask or GET /health"})

        def do_POST(self):
            if self.path.rstrip("/") == stream.PATH:  # the page's streamed answers (rag/web)
                stream.handle(self, answerer, lock)
                return
            if self.path.rstrip("/") != "/ask":
                self._send(404, {"error": "not found; use POST /ask"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise UsageError(f"request body over {MAX_BODY} bytes")
                try:
                    req = json.loads(self.rfile.read(length).decode("utf-8") or "{}")
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise UsageError('the body is not JSON; send {"question": "Wer leitet Scale AI?"}') from None
                if not isinstance(req, dict) or not isinstance(req.get("question"), str):
                    raise UsageError('send a JSON object like {"question": "Wer leitet Scale AI?"}')
                k = req.get("k")
                if k is not None and (not isinstance(k, int) or k < 1):
                    raise UsageError("k must be a positive integer")
                retriever = req.get("retriever", "hybrid")
                if retriever not in ("hybrid", "dense", "lexical"):
                    raise UsageError("retriever must be hybrid, dense or lexical")
                previous = previous_turn(req.get("previous"))
                with lock:
                    answer = answerer.ask(req["question"], k=k, retriever=retriever, previous=previous)
                self._send(200, answer_json(answer))
            except UsageError as exc:
                self._send(400, {"error": str(exc)})
            except RagError as exc:
                self._send(500, {"error": str(exc)})

    return Handler


def make_server(answerer, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(answerer, threading.Lock()))


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
