"""What a question asks for: its language, the kind of answer (a number, a date, a place, a
person, a name), the unit a number should have, and its weighted content terms. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from rag.lang.text import QUESTION_WORDS, STOPWORDS, analyze, detect_language, numbers

# kind -> question patterns (lower-case). The pattern that matches earliest in the question
# wins: in "Who ran the incubator when it backed Scale?" the asked thing is "who".
_KINDS = [
    ("number", r"\bwie (viele?|viel|hoch|groß|gross|alt|lange?|weit|teuer|schwer|oft)\b|\bwieviele?\b|"
               r"\bhow (many|much|high|large|big|old|long|far|often)\b|"
               r"\bwelche[nmrs]? (summe|betrag|anzahl|höhe|bewertung|wert|anteil|preis|umsatz)\b|"
               r"\bmit welchem (wert|betrag|preis)\b|\bwhat (amount|percentage|number|share|stake|valuation|value)\b"),
    ("time", r"\bwann\b|\bseit wann\b|\bin welchem jahr\b|\bwelche[mns]? (jahr|datum|tag|monat)\b|"
             r"\bwhen\b|\bwhat (year|date|day|month)\b|\bwhich (year|date|day|month)\b|\bin what year\b"),
    ("place", r"\bwo\b|\bwoher\b|\bwohin\b|\bin welche[mr] (stadt|land|ort|staat|region)\b|"
              r"\bwhere\b|\bin (what|which) (city|country|state|place|region)\b|\bwhich (city|country)\b"),
    ("person", r"\bwer\b|\bwen\b|\bwem\b|\bwessen\b|\bwho\b|\bwhom\b|\bwhose\b|"
               r"\bwelche[rn]? (person|gründer|chef|ceo|manager|präsident|mitgründer)"),
    ("name", r"\bwie (hie(ß|ss)|hei(ß|ss)t|hei(ß|ss)en|lautet|lautete)\b|"
             r"\bwelche[rsnm]? (zeitung|universität|hochschule|firma|unternehmen|modell|organisation|partei|"
             r"marke|produkt|land|sprache|religion)\b|"
             r"\bwhat (is|was) the name\b|\bwhich (company|university|newspaper|organi[sz]ation|model|firm|"
             r"language|religion|country|branch|branches)\b|\bwhat (company|university|newspaper|language|religion)\b"),
]

# unit -> words in the question that ask for a quantity of that unit (folded, prefix match)
_UNITS = [  # the first that matches wins: "wie viel Prozent der Investitionen" asks for percent
    ("percent", r"\b(prozent|anteil|quote|percent|share|stake|proportion)"),
    ("age", r"\bwie alt\b|\bhow old\b|\balter\b|\bage\b"),
    ("money", r"\b(geld|dollar|euro|invest|zahl|bezahl|kost|wert|bewert|umsatz|preis|kapital|betrag|summe|"
              r"finanz|gewinn|verdien|pay|paid|cost|worth|valu|revenue|price|fund|money|capital|spend|earn)"),
]


def answer_kind(question: str) -> str:
    q = question.lower()
    best, best_pos = "other", len(q) + 1
    for kind, pattern in _KINDS:
        m = re.search(pattern, q)
        if m and m.start() < best_pos:
            best, best_pos = kind, m.start()
    return best


def kind_span(question: str, kind: str) -> tuple[int, int] | None:
    m = re.search(dict(_KINDS).get(kind, r"$^"), question, re.I)
    return (m.start(), m.end()) if m else None


def answer_unit(question: str, kind: str) -> str | None:
    if kind != "number":
        return None
    q = question.lower()
    for unit, pattern in _UNITS:
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
    def parse(cls, text: str, idf: Callable[[str], float]) -> "Question":
        lang = detect_language(text)
        kind = answer_kind(text)
        span = kind_span(text, kind)
        # "wie hoch", "in welchem Jahr": they name the kind of answer, not what it is about;
        # but the noun of a quantity ("welchen Anteil") is part of the subject
        subject = text
        if span and kind != "number":
            subject = f"{text[:span[0]]} {text[span[1]:]}"
        elif span:
            phrase = text[span[0]:span[1]]
            nouns = [w for w in re.findall(r"\w+", phrase)
                     if w[:1].isupper() and w.lower() not in QUESTION_WORDS and w.lower() not in STOPWORDS["de"]]
            subject = f"{text[:span[0]]} {' '.join(nouns)} {text[span[1]:]}"
        terms: dict[str, float] = {}
        for t in analyze(subject, lang):
            terms.setdefault(t, idf(t))
        return cls(text, lang, kind, answer_unit(text, kind), terms, frozenset(numbers(text)))

    def asks_about(self, word: str) -> bool:
        """Does the question itself contain this word (any analysed form of it)?"""
        forms = set(analyze(word, "de")) | set(analyze(word, "en"))
        return bool(forms & set(self.terms))
