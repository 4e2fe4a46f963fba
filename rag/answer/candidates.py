"""Candidate short answers in one sentence, read from its part-of-speech tags. Pure.

Every span that could be a short answer is proposed with its kind: a noun phrase (its
article left out), a proper name (a person, an organisation, or a name of unknown kind), a
place (a name after a place preposition), a number with its scale and unit, a date. Which
candidate answers a question is for a scorer to decide; what is decided here is what may
answer it at all: `compatible` lets no candidate of the wrong kind through ("im Überblick" is
no place, "von" no person), and prepositions, articles or other function words alone are
never candidates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.lang.lexicon import (
    ALL_STOPWORDS,
    COMMON_NOUN,
    CURRENCIES,
    MONTHS,
    NAME_PARTICLES,
    NUMBER_WORDS,
    ORG_MARKERS,
    PLACE_ARTICLES,
    PLACE_PREPOSITIONS,
    SCALES,
    SEASONS,
    TITLE_PARTICLES,
    UNIT_WORDS,
    YEAR,
    both,
)
from rag.lang.tagger import Token, tag

# "modifier": the adjectives of a noun phrase alone ("gewaltfreien" for "welche Art von Protest");
# "span": the span the model copied (extract.py) where no tagged candidate has its bounds
KINDS = ("person", "place", "org", "name", "number", "date", "noun_phrase", "modifier", "span")

# When rules propose the same span, the more specific reading wins.
_PRIORITY = {
    k: i for i, k in enumerate(("date", "number", "place", "person", "org", "name", "noun_phrase", "modifier"))
}

# question kind (rag/answer/question.py) -> candidate kinds that can answer it
_ACCEPTS: dict[str, frozenset[str]] = {
    "number": frozenset({"number", "span"}),
    "time": frozenset({"date", "span"}),
    "place": frozenset({"place", "name", "span"}),
    "person": frozenset({"person", "org", "name", "span"}),
    "name": frozenset({"person", "org", "name", "place", "noun_phrase", "span"}),
    "other": frozenset(KINDS),
}

# STTS tags: what opens a noun phrase, what may stand inside it before its nouns
_DETERMINERS = frozenset({"ART", "PPOSAT", "PIAT", "PDAT", "PIDAT", "PWAT"})
_MODIFIERS = frozenset({"ADJA", "ADJD", "CARD"})
_NOUNS = frozenset({"NN", "NE"})

_UNIT_WORDS = frozenset(w.lower() for w in (*CURRENCIES, *both(UNIT_WORDS)))
_SCALE_WORDS = frozenset(w for lang in SCALES for w in SCALES[lang])
_MONTHS = frozenset(both(MONTHS))
_SEASONS = frozenset(w.lower() for w in both(SEASONS))
_NUMBER_WORDS = frozenset(w for lang in NUMBER_WORDS for w, n in NUMBER_WORDS[lang].items() if n > 1)
_PARTICLES = frozenset((*NAME_PARTICLES, *TITLE_PARTICLES))
# what joins two numbers into one answer: "30.000 bis 50.000", "687 und 760 nm", "20-18"
_RANGE_WORDS = frozenset(("bis", "und", "oder", "zu", "-", "–", "to", "and", "or"))
_TIMES = frozenset(("mal", "fach"))  # "22-mal"
_OPEN_QUOTES, _CLOSE_QUOTES = frozenset('„“"»‚'), frozenset('“”"«‘')
_GENITIVE = frozenset(("des", "der", "eines", "einer"))
# prepositions that join a noun to the noun phrase before it: "Universität von Paris"
_ATTRIBUTE = frozenset(("von", "vom", "of", "aus", "mit", "für", "über"))
_LINKED = 5
_ONE = frozenset(("ein", "eine", "einer", "einem", "einen", "a", "an", "one"))
_DECADE = re.compile(r"1[5-9]\d0er|20\d0er")
_PLACE_PREPS = frozenset(both(PLACE_PREPOSITIONS))
_PLACE_ARTICLES = frozenset(both(PLACE_ARTICLES))
_ORG_MARKERS = frozenset(w.lower() for w in ORG_MARKERS)


@dataclass(frozen=True)
class AnswerCandidate:
    text: str
    start: int  # document offsets
    end: int
    kind: str  # one of KINDS
    head_lemma: str


def _proper(t: Token, first: bool = False) -> bool:
    """A token of a name: tagged NE, a capitalised foreign word ("Scale") or, inside a sentence,
    adjective ("New England", "Deutsche Bank"), or an acronym ("AI")."""
    if t.pos == "NE":
        return True
    if t.text[:1].isupper() and (t.pos == "FM" or (t.pos == "ADJA" and not first)):
        return True
    return len(t.text) > 1 and t.text.isalpha() and t.text.isupper()


def _nounish(t: Token) -> bool:
    return t.pos in _NOUNS or _proper(t)


def _scale_word(t: Token) -> bool:
    return t.text.lower().rstrip(".") in _SCALE_WORDS


def _day(t: Token) -> bool:
    """A day of the month: "12." or "12"."""
    d = t.text.rstrip(".")
    return d.isdigit() and 1 <= int(d) <= 31


class _Builder:
    def __init__(self, sentence: str, offset: int, toks: Sequence[Token]):
        self.sentence, self.offset, self.toks = sentence, offset, toks
        self.found: dict[tuple[int, int], AnswerCandidate] = {}

    def add(self, i: int, j: int, kind: str, head: str) -> None:
        """Propose toks[i:j] as a candidate (j exclusive)."""
        if not 0 <= i < j <= len(self.toks):
            return
        s, e = self.toks[i].start, self.toks[j - 1].end
        text = self.sentence[s - self.offset : e - self.offset]
        acronym = len(text) > 1 and text.isupper()  # "MIT", "US": not the stopwords "mit", "us"
        if (text.lower() in ALL_STOPWORDS and not acronym) or not any(c.isalnum() for c in text):
            return
        old = self.found.get((s, e))
        if old is None or _PRIORITY[kind] < _PRIORITY[old.kind]:
            self.found[(s, e)] = AnswerCandidate(text, s, e, kind, head)

    def numbers(self) -> None:
        toks = self.toks
        for i, t in enumerate(toks):
            numeral = t.pos == "CARD" and (any(c.isdigit() for c in t.text) or t.text.lower() in _NUMBER_WORDS)
            # "eine Milliarde", "a million": an article before a scale word counts as one
            one = t.text.lower() in _ONE and i + 1 < len(toks) and _scale_word(toks[i + 1])
            if not (numeral or one):
                continue
            j = i + 1
            while j < len(toks) and _scale_word(toks[j]):
                j += 1
            # the counted noun or unit; after a scale word a currency code too ("30 Mio. GBP")
            unit = j < len(toks) and (
                toks[j].text.lower() in _UNIT_WORDS or toks[j].pos == "NN" or (j > i + 1 and _nounish(toks[j]))
            )
            if YEAR.fullmatch(t.text) and j == i + 1:
                self.add(i, i + 1, "date", t.text)
                if not (unit and toks[j].text.lower() in _UNIT_WORDS):
                    continue
            self.add(i, j, "number", toks[j - 1].lemma)
            if unit:
                self.add(i, j + 1, "number", toks[j].lemma)
                # "14,3 Milliarden US-Dollar" after a noun unit a currency may follow
                if j + 1 < len(toks) and toks[j + 1].text.lower() in _UNIT_WORDS and toks[j].pos != "NN":
                    self.add(i, j + 2, "number", toks[j + 1].lemma)

    def joined(self) -> None:
        """Two numbers joined into one answer ("30.000 bis 50.000", "687 und 760 nm", "20-18"),
        a count with "-mal" ("22-mal"), a name or noun phrase with its parenthesis ("Alpha
        Repertory Television Service (ARTS)"), and a short quoted title („Mork vom Ork“)."""
        toks, n = self.toks, len(self.toks)
        first = {t.start: k for k, t in enumerate(toks)}
        last = {t.end: k + 1 for k, t in enumerate(toks)}
        numbers = [c for c in self.found.values() if c.kind in ("number", "date")]
        for a in numbers:
            i, j = first[a.start], last[a.end]
            if j + 1 < n and toks[j].text.lower() in ("-", "–") and toks[j + 1].text.lower() in _TIMES:
                self.add(i, j + 2, "number", toks[j + 1].lemma)
            if j + 1 >= n or toks[j].text.lower() not in _RANGE_WORDS:
                continue
            for b in numbers:
                if b.start == toks[j + 1].start and j + 1 == first[b.start]:
                    both_years = YEAR.fullmatch(a.text) and YEAR.fullmatch(toks[j + 1].text)
                    self.add(i, last[b.end], "date" if both_years else "number", b.head_lemma)
        for k, t in enumerate(toks):
            if t.text == "(" and k > 0:
                close = next((m for m in range(k + 1, min(k + 5, n)) if toks[m].text == ")"), None)
                if close is None or close == k + 1:
                    continue
                for c in [c for c in self.found.values() if c.end == toks[k - 1].end]:
                    if c.kind not in ("number", "date", "modifier"):
                        self.add(first[c.start], close + 1, c.kind, c.head_lemma)
            elif t.text in _OPEN_QUOTES:
                close = next((m for m in range(k + 1, min(k + 10, n)) if toks[m].text in _CLOSE_QUOTES), None)
                if close is not None and close > k + 1:
                    self.add(k + 1, close, "name", toks[close - 1].lemma)

    def dates(self) -> None:
        toks = self.toks
        for k, t in enumerate(toks):
            year_next = k + 1 < len(toks) and YEAR.fullmatch(toks[k + 1].text) is not None
            if _DECADE.fullmatch(t.text):  # "1950er", "in den 1950er Jahren"
                self.add(k, k + 1, "date", t.text)
                if k + 1 < len(toks) and toks[k + 1].pos == "NN":
                    self.add(k, k + 2, "date", toks[k + 1].lemma)
            elif t.text.lower() in _SEASONS and year_next:
                self.add(k, k + 2, "date", t.lemma)
            if t.text.lower() not in _MONTHS:
                continue
            i = k - 1 if k > 0 and _day(toks[k - 1]) else k
            j = k + 2 if year_next else k + 1
            self.add(i, j, "date", t.lemma)
            if j == k + 2 and i < k:
                self.add(k, j, "date", t.lemma)  # "Juni 2025" out of "12. Juni 2025"

    def _initial(self, k: int) -> bool:
        """Is toks[k] an initial inside a name: "C." in "John C. Messenger"?"""
        toks = self.toks
        return (
            k + 2 < len(toks)
            and len(toks[k].text) == 1
            and toks[k].text.isupper()
            and toks[k + 1].text == "."
            and toks[k + 1].start == toks[k].end
            and (_proper(toks[k + 2]) or toks[k + 2].text[:1].isupper() or toks[k + 2].text.lower() in _PARTICLES)
        )

    def _particles(self, j: int) -> int:
        """How many lower-case name words start at toks[j] and lead on to a name word: "of the" in
        "The Curse of the Daleks", "von" in "Ursula von der Leyen" (0: none)."""
        toks, k = self.toks, j
        while k < len(toks) and k - j < 2 and toks[k].text.lower() in _PARTICLES:
            if toks[k].pos == "ART" and toks[k].text.lower() != "the":  # German "der" is no particle
                return 0
            k += 1
        return k - j if k > j and k < len(toks) and _proper(toks[k]) else 0

    def names(self) -> None:
        toks, n = self.toks, len(self.toks)
        i = 0
        while i < n:
            if not (_proper(toks[i], i == 0) or self._initial(i)):
                i += 1
                continue
            j = i if self._initial(i) else i + 1
            while j < n:
                if self._initial(j):
                    j += 2  # the word after an initial is the name's, whatever its tag
                    j += not self._initial(j)
                elif _proper(toks[j]):
                    j += 1
                elif words := self._particles(j):
                    j += words + 1
                else:
                    break
            kind = self._name_kind(i, j)
            self.add(i, j, kind, toks[j - 1].lemma)
            # titles and roles before a name are tagged as names too: "Defensive End Kony Ealy"
            for k in range(i + 1, j - 1):
                if toks[k].text[:1].isupper() and toks[k - 1].text != ".":
                    self.add(k, j, self._name_kind(k, j), toks[j - 1].lemma)
            # a name's last word the tagger read as a common noun: "New England Patriots"
            if j < n and toks[j].pos == "NN" and not COMMON_NOUN.search(toks[j].text):
                self.add(i, j + 1, self._name_kind(i, j + 1), toks[j].lemma)
            # a first name the tagger read as a common noun: "Jason Droege"
            p = toks[i - 1] if i > 0 else None
            if p and p.pos == "NN" and p.text[:1].isupper() and not COMMON_NOUN.search(p.text) and kind != "place":
                self.add(i - 1, j, self._name_kind(i - 1, j), toks[j - 1].lemma)
            i = j

    def _name_kind(self, i: int, j: int) -> str:
        toks = self.toks
        k = i - 1
        if k >= 0 and toks[k].text.lower() in _PLACE_ARTICLES:
            k -= 1
        if k >= 0 and toks[k].text.lower() in _PLACE_PREPS:
            return "place"
        words = [t.text for t in toks[i:j] if t.text != "."]  # "John C. Messenger": "C" is a word
        if any(w.lower() in _ORG_MARKERS for w in words):
            return "org"
        if 2 <= len(words) <= 3 and all(
            w[:1].isupper() and (len(w) == 1 or w[1:].islower()) and w.isalpha() for w in words
        ):
            return "person"
        return "name"

    def noun_phrases(self) -> None:
        toks, n = self.toks, len(self.toks)
        spans: list[tuple[int, int]] = []
        i = 0
        while i < n:
            s = i + 1 if toks[i].pos in _DETERMINERS else i
            j = s
            while j < n and toks[j].pos in _MODIFIERS:
                j += 1
            k = j
            while k < n and _nounish(toks[k]) and not self._initial(k):  # "John C." is names()'s
                k += 1
            if k > j:
                # a truncated first part: "Nord- und Westafrika"
                if s >= 2 and toks[s - 1].pos == "KON" and toks[s - 2].pos == "TRUNC":
                    s -= 2
                spans.append((s, k))
                self.add(s, k, "noun_phrase", toks[k - 1].lemma)
                if j > s:  # the nouns alone, without their adjectives
                    self.add(j, k, "noun_phrase", toks[k - 1].lemma)
                    # ...and the adjectives alone: "gewaltfreien" for "welche Art von Protest"
                    if all(t.pos in ("ADJA", "ADJD") for t in toks[s:j]):
                        self.add(s, j, "modifier", toks[k - 1].lemma)
                i = k
            else:
                i += 1
        # a noun phrase with its genitive, an attribute or a coordinated one, up to LINKED in a
        # row: "die Entwicklung der deutschen Sprache und Literatur", "Edikt von Fontainebleau",
        # "kulturelle Traditionen, soziale Bräuche, religiöse Überzeugungen"
        for a in range(len(spans)):
            for b in range(a + 1, min(a + _LINKED, len(spans))):
                if not self._linked(spans[b - 1][1], spans[b][0]):
                    break
                self.add(spans[a][0], spans[b][1], "noun_phrase", toks[spans[a][1] - 1].lemma)

    def _linked(self, end: int, start: int) -> bool:
        """Do the tokens between two noun phrases join them: "der", "und", "oder die", "von", ","?"""
        between = self.toks[end:start]
        if not between or len(between) > 2 or any(t.pos not in _DETERMINERS for t in between[1:]):
            return False
        word = between[0].text.lower()
        if len(between) == 1 and between[0].pos == "ART":
            return word in _GENITIVE
        return between[0].pos == "KON" or word in _ATTRIBUTE or word == ","


def from_tokens(sentence: str, offset: int, toks: Sequence[Token]) -> list[AnswerCandidate]:
    """Candidates from tagged tokens (the tokens carry document offsets; `sentence` starts at `offset`)."""
    b = _Builder(sentence, offset, toks)
    b.numbers()
    b.dates()
    b.names()
    b.noun_phrases()
    b.joined()
    return sorted(b.found.values(), key=lambda c: (c.start, c.end))


def candidates(sentence: str, offset: int, lang: str) -> list[AnswerCandidate]:
    """Candidate short answers in `sentence`, which starts at document offset `offset`."""
    return from_tokens(sentence, offset, tag(sentence, offset, lang))


def compatible(kind_asked: str, candidate: AnswerCandidate) -> bool:
    """Can a candidate of this kind answer a question of this kind (question.answer_kind)?"""
    return candidate.kind in _ACCEPTS.get(kind_asked, _ACCEPTS["other"])
