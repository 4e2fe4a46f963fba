"""Features of the best evidence sentence, reported in an answer's trace (and weighed by
scripts/fit.py): how much of the question it covers, how similar it is, whether it holds a
thing of the asked kind, how many question terms the corpus does not know."""

from __future__ import annotations

from rag.answer.evidence import Candidate
from rag.answer.question import Question
from rag.answer.spans import rank_spans


def evidence_features(question: Question, top: Candidate, unknown_terms: int) -> dict:
    """What the best evidence sentence offers: the share of the question's terms in it (for
    a question in another language: of its translation's terms), alone and with the
    sentence before it, its similarity to the question, whether it holds a thing of the
    asked kind, and how many question terms the corpus does not know at all."""
    found = 1.0
    if question.kind != "other":
        found = float(bool(rank_spans(question.kind, set(question.terms), [(0, top.text, 0.0)], question.unit)))
    return {
        "overlap": top.overlap,
        "context": top.context,
        "dense": top.dense,
        "span_found": found,
        "unknown": float(min(unknown_terms, 2)),
    }
