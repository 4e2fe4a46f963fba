"""Features of the best evidence sentence that the abstention policy weighs: how much of the
question it covers, how similar it is, whether it holds a thing of the asked kind, how many
question terms the corpus does not know, and how well it explains the question to the model."""

from __future__ import annotations

from rag.answer import prompts
from rag.answer.evidence import Candidate
from rag.answer.question import Question
from rag.answer.spans import rank_spans
from rag.llm.base import LanguageModel


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


def explains(model: LanguageModel, sentence: str, question: str, lang: str) -> float:
    """How much more likely the model finds the question after reading the sentence than
    without it, per token (pointwise mutual information): evidence that answers a question
    also makes it expected."""
    with_text, n = model.text_logprob(prompts.explains_prefix(sentence, lang), question)
    alone, _ = model.text_logprob(prompts.question_prefix(lang), question)
    return (with_text - alone) / max(n, 1)


def features(question: Question, top: Candidate, unknown_terms: int, model: LanguageModel) -> dict:
    """evidence_features, and "pmi" (explains) when the model can score text."""
    out = evidence_features(question, top, unknown_terms)
    if model.capabilities.score:
        out["pmi"] = explains(model, top.text, question.text, question.lang)
    return out
