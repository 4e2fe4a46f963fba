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


# The noun a question names its answer by: "Welche Vermutung ...", "Wie viele Sekunden ...",
# "Which player ...". German nouns are capitalised, which finds them past adjectives.
_FOCUS_DE = re.compile(
    r"\b(?i:welche[rsnm]?|wie viele?|was für(?: eine?[rnms]?)?)\s+(?:[a-zäöüß-]+\s+){0,2}([A-ZÄÖÜ][\w-]+)"
    r"(?:\s+(?:von|der|des)\s+(?:[a-zäöüß-]+\s+)?([A-ZÄÖÜ][\w-]+))?"
)
_FOCUS_EN = re.compile(r"\b(?:which|what|how many|how much)((?:\s+[a-z][\w-]*){1,3})", re.I)
_NOT_FOCUS = frozenset(
    "is was are were did does do has have had can could would will should of the a an in on to".split()
)
# "Welche Art von Ausschuss": the kind is named by the noun after "Art von"
_KIND_NOUNS = frozenset(("Art", "Sorte", "Typ", "Form", "Teil", "Name"))


def focus_word(question: str) -> str | None:
    """The noun the question names its answer by ("Welche Vermutung" -> "Vermutung"), or None."""
    m = _FOCUS_DE.search(question)
    if m:
        return m.group(2) if m.group(1) in _KIND_NOUNS and m.group(2) else m.group(1)
    m = _FOCUS_EN.search(question)
    if not m:
        return None
    words: list[str] = []
    for w in m.group(1).split():
        if w.lower() == "of" and words and words[-1].capitalize() in _KIND_NOUNS | {"Kind", "Type", "Sort"}:
            words.pop()  # "what type of committee"
            continue
        if w.lower() in _NOT_FOCUS:
            break
        words.append(w)
    return words[-1] if words else None


@dataclass(frozen=True)
class Question:
    text: str
    lang: str
    kind: str  # number | time | place | person | name | other
    unit: str | None  # for numbers: money | percent | age | count
    terms: dict[str, float]  # analysed content term -> IDF weight
    numbers: frozenset[str] = field(default_factory=frozenset)
    # analysed forms of focus_word (for a translated question: of its translation's)
    focus: tuple[str, ...] = ()

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
        word = focus_word(text)
        focus = tuple(analyze(word, lang)) if word else ()
        return cls(text, lang, kind, answer_unit(text, kind), terms, frozenset(numbers(text)), focus)

    def asks_about(self, word: str) -> bool:
        """Does the question itself contain this word (any analysed form of it)?"""
        forms = set(analyze(word, "de")) | set(analyze(word, "en"))
        return bool(forms & set(self.terms))
