"""POST /ask/stream: the page's question, answered as a stream of JSON lines.

Each line is one event, sent as soon as it happens:
  {"event": "understood", "question": "..."}   a follow-up, completed from the previous turn
  {"event": "queued"}                          another answer is being made; this one waits
  {"event": "stage", "stage": "retrieve"}      each stage of the pipeline as it starts (STAGES)
  {"event": "token", "text": "..."}            the model's words, when the model writes the answer
  {"event": "answer", "answer": {...}}         the `rag ask --json` object, plus each source's
                                               "ref" and its passage (the cited span inside it)
  {"event": "error", "error": "..."}           the answer failed; nothing follows
Bad requests get a 400 with {"error": ...} before any event, as POST /ask does, and a
request the server cannot queue a 503 with Retry-After.

Follow-ups: the page sends the previous reply back as "previous", and it becomes the turn a
follow-up refers to exactly as in `rag chat` (policy.turn_of over the rebuilt answer).

The request is read and queued for the model like POST /ask's (rag/serve: the same checks,
admission queue, time limit and 503/504); this module is the event protocol, which
rag/serve/http.py writes.
"""

from __future__ import annotations

import json

from rag.serve.request import AskRequest as StreamRequest
from rag.serve.request import parse_ask as parse_request
from rag.serve.request import previous_turn as previous_of

PATH = "/ask/stream"

__all__ = ["PATH", "Events", "StreamRequest", "parse_request", "previous_of", "reply_of"]


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
    writing (and, in rag/serve, its request)."""

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
