"""POST /ask/stream: the page's question, answered as a stream of JSON lines.

Each line is one event, sent as soon as it happens:
  {"event": "understood", "question": "..."}   a follow-up, completed from the previous turn
  {"event": "queued"}                          another answer is being made; this one waits
  {"event": "stage", "stage": "retrieve"}      each stage of the pipeline as it starts (STAGES)
  {"event": "token", "text": "..."}            the model's words, when the model writes the answer
  {"event": "answer", "answer": {...}}         the `rag ask --json` object, plus each source's
                                               "ref" and its passage (the cited span inside it)
  {"event": "error", "error": "..."}           the answer failed; nothing follows
Bad requests get a 400 with {"error": ...} before any event, as POST /ask does.

Follow-ups: the page sends the previous reply back as "previous", and it becomes the turn a
follow-up refers to exactly as in `rag chat` (policy.turn_of over the rebuilt answer).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from rag.errors import RagError, UsageError
from rag.types import Turn

PATH = "/ask/stream"
MAX_BODY = 64 * 1024
RETRIEVERS = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class StreamRequest:
    question: str
    k: int | None
    retriever: str
    previous: Turn | None


def previous_of(obj) -> Turn | None:
    """The turn a follow-up refers to. A whole reply (what the page sends: its parts, as
    `rag ask --json` has them) goes through the same rule as `rag chat`; the short form
    {"question", "answer", "abstained"} is taken as it is."""
    from rag.answer.policy import turn_of
    from rag.types import answer_from_json

    if obj is None:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
        raise UsageError('previous must be the reply to the question before, like {"question": "...", "answer": "..."}')
    if "text" in obj:
        try:
            return turn_of(answer_from_json({"citations": [], "retrieved": [], **obj}))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise UsageError("previous is not a reply of this server; send it back as it came") from None
    answer = obj.get("answer")
    if not isinstance(answer, (str, type(None))) or not isinstance(obj.get("abstained", False), bool):
        raise UsageError('previous must be like {"question": "...", "answer": "...", "abstained": false}')
    return Turn(obj["question"], None if obj.get("abstained") else answer)


def parse_request(body: bytes) -> StreamRequest:
    """The request body, checked; a UsageError names what to send instead."""
    try:
        req = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError('the body is not JSON; send {"question": "Wer leitet Scale AI?"}') from None
    if not isinstance(req, dict) or not isinstance(req.get("question"), str) or not req["question"].strip():
        raise UsageError('send a JSON object like {"question": "Wer leitet Scale AI?"}')
    k = req.get("k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise UsageError("k must be a positive integer")
    retriever = req.get("retriever", "hybrid")
    if retriever not in RETRIEVERS:
        raise UsageError("retriever must be hybrid, dense or lexical")
    return StreamRequest(req["question"], k, retriever, previous_of(req.get("previous")))


def reply_of(answer) -> dict:
    """The answer as the page shows it: the `rag ask --json` object, each citation's
    reference as `rag ask` prints it, and the passages the citations quote from."""
    from rag.cli.render import answer_json, citation_ref, cited_passages

    reply = answer_json(answer)
    for c, obj in zip(answer.citations, reply["citations"]):
        obj["ref"] = citation_ref(c)
    reply["passages"] = cited_passages(answer)
    return reply


class Events:
    """Writes one JSON line per event and flushes it; a reader that went away stops the
    writing, not the answer (the model's state must not be left half-way)."""

    def __init__(self, out):
        self.out = out
        self.gone = False

    def send(self, event: str, **fields) -> None:
        if self.gone:
            return
        line = json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n"
        try:
            self.out.write(line.encode("utf-8"))
            self.out.flush()
        except OSError:  # BrokenPipeError, ConnectionResetError: the page was closed
            self.gone = True


def answer_stream(answerer, lock: threading.Lock, req: StreamRequest, events: Events) -> None:
    """Answer one question, telling events each step; one answer at a time (the model and
    its KV cache are not shared between threads)."""
    from rag.answer.policy import understood

    asked = understood(req.question, req.previous)
    if asked != req.question:
        events.send("understood", question=asked)
    if not lock.acquire(blocking=False):
        events.send("queued")
        lock.acquire()
    try:
        answer = answerer.ask(
            req.question,
            k=req.k,
            retriever=req.retriever,
            previous=req.previous,
            on_text=lambda piece: events.send("token", text=piece),
            on_stage=lambda stage: events.send("stage", stage=stage),
        )
    except RagError as exc:
        events.send("error", error=str(exc))
        return
    finally:
        lock.release()
    events.send("answer", answer=reply_of(answer))


def handle(handler, answerer, lock: threading.Lock) -> None:
    """Serve one POST /ask/stream on a BaseHTTPRequestHandler."""
    try:
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise UsageError(f"request body over {MAX_BODY} bytes")
        req = parse_request(handler.rfile.read(length))
    except (UsageError, ValueError) as exc:
        body = json.dumps({"error": str(exc)}, ensure_ascii=False).encode("utf-8")
        handler.send_response(400)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("X-Content-Type-Options", "nosniff")
    # no length: the stream ends when the connection closes after the last event
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    answer_stream(answerer, lock, req, Events(handler.wfile))
