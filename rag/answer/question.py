"""What a question asks for: its language, the kind of answer (a number, a date, a place, a
person, a name), the unit a number should have, and its weighted content terms. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.lang.lexicon import QUESTION_KINDS, QUESTION_UNITS, QUESTION_WORDS, STOPWORDS
from rag.lang.text import analyze, detect_language, numbers


def answer_kind(question: str) -> str:
    q = question.lower()
    best, best_pos = "other", len(q) + 1
    for kind, pattern in QUESTION_KINDS:
        m = re.search(pattern, q)
        if m and m.start() < best_pos:
            best, best_pos = kind, m.start()
    return best


def kind_span(question: str, kind: str) -> tuple[int, int] | None:
    m = re.search(dict(QUESTION_KINDS).get(kind, r"$^"), question, re.I)
    return (m.start(), m.end()) if m else None


def answer_unit(question: str, kind: str) -> str | None:
    if kind != "number":
        return None
    q = question.lower()
    for unit, pattern in QUESTION_UNITS:
        if re.search(pattern, q):
            return unit
    return "count"


@dataclass(frozen=True)
class Question:
    text: str
    lang: str
    kind: str  # number | time | place | person | name | other
    unit: str | None  # for numbers: money | percent | age | count
    terms: dict[str, float]  # analysed content term -> IDF weight
    numbers: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str, idf: Callable[[str], float]) -> Question:
        lang = detect_language(text)
        kind = answer_kind(text)
        span = kind_span(text, kind)
        # "wie hoch", "in welchem Jahr": they name the kind of answer, not what it is about;
        # but the noun of a quantity ("welchen Anteil") is part of the subject
        subject = text
        if span and kind != "number":
            subject = f"{text[: span[0]]} {text[span[1] :]}"
        elif span:
            phrase = text[span[0] : span[1]]
            nouns = [
                w
                for w in re.findall(r"\w+", phrase)
                if w[:1].isupper() and w.lower() not in QUESTION_WORDS and w.lower() not in STOPWORDS["de"]
            ]
            subject = f"{text[: span[0]]} {' '.join(nouns)} {text[span[1] :]}"
        terms: dict[str, float] = {}
        for t in analyze(subject, lang):
            terms.setdefault(t, idf(t))
        return cls(text, lang, kind, answer_unit(text, kind), terms, frozenset(numbers(text)))

    def asks_about(self, word: str) -> bool:
        """Does the question itself contain this word (any analysed form of it)?"""
        forms = set(analyze(word, "de")) | set(analyze(word, "en"))
        return bool(forms & set(self.terms))
