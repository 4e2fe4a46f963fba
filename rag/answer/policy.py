"""Answer policy: when to abstain, when the model's own words may be the answer, and when a
follow-up's answer does not answer it. Applies to every caller (ask, chat, serve, eval)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rag.answer.evidence import Candidate
from rag.answer.followup import answered_by, mentions, referent, self_contained
from rag.lang.text import detect_language
from rag.llm.base import Capabilities
from rag.types import Answer, Turn

TRUSTED_MODEL_PARAMS = 1_000_000_000  # from this size on, a checked free answer is the answer


@dataclass(frozen=True)
class Verdict:
    abstain: bool
    confidence: float
    reason: str
    features: dict


YEAR_UNNAMED = "the evidence chosen does not name the year the question asks about"


def judge_evidence(
    cands: list[Candidate],
    confidence: float,
    threshold: float,
    features: dict | None = None,
    years_missing: float = 0.0,
) -> Verdict:
    """Is there evidence worth answering from? confidence: the reader's probability that its
    best (sentence, short answer) pair answers the question; threshold: the one
    scripts/train_reader.py chose on dev data (reader.json); years_missing: the share of the
    years the question asks about that the chosen sentence's chunk does not name."""
    features = features or {}
    if not cands:
        return Verdict(True, 0.0, "nothing retrieved", features)
    if years_missing >= 1.0:
        # "Umsatz im Jahr 2019" from a passage on this year's revenue. Only the chosen chunk
        # counts: a veto that also asked the best passages to match the question's words
        # withheld 53 answerable XQuAD questions (a translated question's words do not match)
        return Verdict(True, confidence, YEAR_UNNAMED, features)
    if confidence < threshold:
        return Verdict(True, confidence, f"reader confidence {confidence:.2f} below {threshold:.2f}", features)
    return Verdict(False, confidence, "", features)


def trusted(capabilities: Capabilities) -> bool:
    """Whether the model's checked free answer is the answer (n_params None: a server's
    model, assumed to be a capable one)."""
    n = capabilities.n_params
    return n is None or n >= TRUSTED_MODEL_PARAMS


def writes_answers(mode: str, capabilities: Capabilities) -> bool:
    """Whether the model writes the answer (settings.generate: auto | always | never). A
    model under 1B parameters answered no question more often right than the checked
    extraction (README), so by default it does not, which also makes answering 20-50x
    faster."""
    return mode == "always" or (mode == "auto" and trusted(capabilities))


FOLLOW_UP_UNANSWERED = "the follow-up's own words are not in the cited evidence"
FOLLOW_UP_OTHER_PERSON = "the cited passages do not name {}, whom the follow-up asks about"


def understood(question: str, previous: Turn | None) -> str:
    """The question to answer: a follow-up completed from the previous turn."""
    if previous is None:
        return question
    return self_contained(question, previous.question, previous.answer)


def check_follow_up(typed: str, answer: Answer, previous: Turn | None = None) -> Answer:
    """A follow-up completed with context words (`understood`) is answered only when the
    cited evidence holds one of its own words: the added words can match a passage about
    the topic that says nothing of what the follow-up asks ("Und wo wurde er geboren?" and
    a sentence on his career). And when its pronoun means the person the previous answer
    named, only from passages that name that person: a sentence on where someone else was
    born does not answer where he was."""
    if answer.rewritten_from is None or answer.abstained:
        return answer
    quotes = " ".join(c.quote for c in answer.citations)
    reason = ""
    if not answered_by(typed, quotes):
        reason = FOLLOW_UP_UNANSWERED
    elif previous is not None:
        names = referent(typed, previous.question, previous.answer)
        passages = " ".join(p.text for c in answer.citations if (p := answer.passage_of(c)) is not None)
        if names and not mentions(names, passages or quotes, detect_language(typed)):
            reason = FOLLOW_UP_OTHER_PERSON.format(" ".join(names))
    if not reason:
        return answer
    return replace(
        answer,
        text="",
        abstained=True,
        mode="abstained",
        citations=[],
        short=None,
        quote=None,
        conflict_values=[],
        reason=reason,
        lang=detect_language(typed),
    )


def turn_of(answer: Answer) -> Turn:
    """What a follow-up to this answer may refer to: the question as answered and the
    answer's leading words (the short answer, else the quote or the model's words)."""
    if answer.abstained:
        return Turn(answer.question)
    words = answer.short.text if answer.short else answer.quote.text if answer.quote else answer.text
    if answer.conflict_values:
        words = "; ".join(v.value for v in answer.conflict_values)
    return Turn(answer.question, words or None)
