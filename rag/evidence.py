"""Evidence selection: from retrieved chunks to the few sentences most likely to hold the
answer, numbered [1]..[n] as the model will see them.

A tiny model answers well from one or two good sentences and badly from whole paragraphs,
so the choice of sentences carries much of the answer quality. Each sentence is scored by
its similarity to the question (embedding), the share of the question's terms it contains
(IDF-weighted), and whether it holds the kind of thing asked for (a number for "wie viel",
a name for "wer", a year for "wann").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from rag.text import analyze, detect_language, numbers, words
from rag.types import Hit, Passage

# answer type -> question patterns (lower-case, matched at word boundaries)
_TYPES = [
    ("number", r"wie (viele?|hoch|groß|gross|alt|lange?|weit|teuer|schwer|oft)|wieviele?|how (many|much|high|large|big|old|long|far|often)|welche(n|r)? (summe|betrag|anzahl|höhe|bewertung)|what (amount|percentage|number)"),
    ("time", r"\bwann\b|in welchem jahr|seit wann|\bwhen\b|what year|which year|welche(m|s)? (jahr|datum|tag)"),
    ("place", r"\bwo\b|\bwoher\b|\bwohin\b|\bwhere\b|in welche(m|r) (stadt|land|ort)|which (city|country)"),
    ("person", r"\bwer\b|\bwen\b|\bwem\b|\bwho\b|\bwhom\b|welche(r|n)? person"),
]
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_MONTH = re.compile(r"\b(januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|"
                    r"january|february|march|may|june|july|october|december|montag|dienstag|mittwoch|"
                    r"donnerstag|freitag|samstag|sonntag)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-ZÄÖÜ][\w\-]+(?:\s+[A-ZÄÖÜ][\w\-]+)+")
_PLACE = re.compile(r"\b(in|aus|nach|im|bei|from|at)\s+(?:der |dem |den |the )?[A-ZÄÖÜ][\w\-]+")


def answer_type(question: str) -> str:
    q = question.lower()
    for kind, pattern in _TYPES:
        if re.search(pattern, q):
            return kind
    return "other"


def type_match(kind: str, sentence: str) -> float:
    """1.0 when the sentence holds the kind of thing asked for, else 0.0."""
    if kind == "number":
        return 1.0 if re.search(r"\d|\b(zwei|drei|vier|fünf|zehn|hundert|tausend|two|three|ten)\b", sentence, re.I) else 0.0
    if kind == "time":
        return 1.0 if _YEAR.search(sentence) or _MONTH.search(sentence) else 0.0
    if kind == "place":
        return 1.0 if _PLACE.search(sentence) else 0.0
    if kind == "person":
        return 1.0 if _NAME.search(sentence) else 0.0
    return 0.0


@dataclass(frozen=True)
class Question:
    text: str
    lang: str
    kind: str
    terms: dict[str, float]  # analysed term -> IDF weight
    numbers: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str, idf: Callable[[str], float]) -> "Question":
        lang = detect_language(text)
        kind = answer_type(text)
        # "wie hoch", "how many": they name the answer's type, not the subject
        subject = re.sub(dict(_TYPES).get(kind, r"$^"), " ", text, count=1, flags=re.I) if kind != "other" else text
        terms = {}
        for t in analyze(subject, lang):
            terms.setdefault(t, idf(t))
        return cls(text, lang, kind, terms, frozenset(numbers(text)))


@dataclass(frozen=True)
class Candidate:
    source: str
    start: int
    end: int
    text: str
    dense: float
    overlap: float  # IDF-weighted share of question terms in the sentence
    typed: float
    rank_score: float  # the retrieval score of its chunk, scaled to [0, 1]
    score: float


def term_overlap(question: Question, sentence: str) -> float:
    total = sum(question.terms.values())
    if total <= 0:
        return 0.0
    have = set(analyze(sentence, "de")) | set(analyze(sentence, "en"))
    return sum(w for t, w in question.terms.items() if t in have) / total


WEIGHTS = {"dense": 0.45, "overlap": 0.35, "typed": 0.10, "rank": 0.10}


def candidates(question: Question, hits: list[Hit]) -> list[Candidate]:
    """Every sentence of the retrieved chunks (once, even where chunks overlap), scored.
    Sentence similarities come with the hits: the retriever computed them from vectors
    stored in the index, so nothing is embedded here."""
    seen, out = set(), []
    for rank, h in enumerate(hits):
        c = h.chunk
        rank_score = 1.0 - rank / len(hits)
        for start, end, sim in h.sentences:
            text = c.text[start - c.start:end - c.start]
            if (c.source, start) in seen or len(words(text)) < 3:
                continue
            seen.add((c.source, start))
            ov = term_overlap(question, text)
            ty = type_match(question.kind, text)
            score = (WEIGHTS["dense"] * sim + WEIGHTS["overlap"] * ov
                     + WEIGHTS["typed"] * ty + WEIGHTS["rank"] * rank_score)
            out.append(Candidate(c.source, start, end, text, sim, ov, ty, rank_score, score))
    out.sort(key=lambda c: -c.score)
    return out


def select(cands: list[Candidate], n: int = 3) -> list[Passage]:
    """The n best sentences as numbered passages [1]..[n], best first."""
    return [Passage(i + 1, c.source, c.start, c.end, c.text, c.score) for i, c in enumerate(cands[:n])]

