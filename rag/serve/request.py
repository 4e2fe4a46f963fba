"""The body of `POST /ask`, checked: one clear 400 message per mistake.

{"question": "...", "k": 5, "retriever": "hybrid", "previous": <the reply before>}, for
POST /ask and the page's POST /ask/stream alike. A follow-up sends the previous turn's
reply along, so the server keeps no conversation state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from rag.errors import UsageError
from rag.types import Turn

MAX_BODY = 64 * 1024
RETRIEVERS = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class AskRequest:
    question: str
    k: int | None = None
    retriever: str = "hybrid"
    previous: Turn | None = None


def previous_turn(obj) -> Turn | None:
    """The turn a follow-up refers to. A whole reply (what the page sends back: its parts, as
    `rag ask --json` has them) goes through the same rule as `rag chat` (policy.turn_of); the
    short form {"question", "answer", "abstained"} is taken as it is (an abstention's answer
    is ignored: it names nothing a follow-up could mean)."""
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


def parse_ask(body: bytes) -> AskRequest:
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
    return AskRequest(req["question"], k, retriever, previous_turn(req.get("previous")))
