"""Answer-type-aware candidate spans inside an evidence sentence. Pure functions.

A question of a known type (wie viel / wer / wo / wann) is answered by a short span of a
sentence: a quantity, a name, a place, a date. The span nearest to the words the question
shares with the sentence is usually the answer ("beschäftigt etwa 900 Mitarbeiter und hat
1,35 Milliarden Dollar erhalten": for "wie viele Mitarbeiter", 900 is next to the question's
words, 1,35 is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import STOPWORDS, analyze

_QUALIFIER = r"(?:(?:etwa|rund|ca\.|circa|fast|knapp|über|mehr als|weniger als|bis zu|mindestens|gut|about|around|nearly|almost|over|more than|less than|up to|at least|approximately)\s+)?"
_NUM = r"\d+(?:[.,]\d+)*"
_NUMWORD = r"(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|hundert|tausend|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand)"
_SCALE = r"(?:\s*(?:Milliarden|Milliarde|Millionen|Million|Mrd\.?|Mio\.?|Tausend|Billionen|billion|million|thousand|trillion))?"
_UNIT = r"(?:\s*(?:US-Dollar|Dollar|Euro|Franken|Pfund|USD|EUR|\$|€|Prozent|%|percent|Jahre|Jahren|Jahr|years?|Monate|months?|Meter|Kilometer|km|Menschen|people)\b)?"
_NUMBER_SPAN = re.compile(
    rf"(?:[$€]\s*)?{_QUALIFIER}(?:{_NUM}|\b{_NUMWORD}\b){_SCALE}{_UNIT}(?:\s+(?-i:[A-ZÄÖÜ][a-zäöüß]+))?", re.IGNORECASE)
_YEAR = r"\b(?:1[5-9]\d\d|20\d\d)\b"
_MONTHS = r"(?:Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|January|February|March|May|June|July|October|December)"
_DAYS = r"(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_TIME_SPAN = re.compile(
    rf"(?:\b(?:am|im|seit|vor|in|on|in|since)\s+)?(?:\d{{1,2}}\.\s*{_MONTHS}(?:\s+{_YEAR})?|{_MONTHS}(?:\s+{_YEAR})?|{_YEAR}|{_DAYS}|(?:\d+|{_NUMWORD})\s+(?:Jahren?|Monaten?|years?|months?)(?:\s+(?:zuvor|später|ago|later))?)",
    re.IGNORECASE)
_CAP = r"[A-ZÄÖÜ][\w\-.]*\w"
_NAME_SPAN = re.compile(rf"{_CAP}(?:\s+(?:von |van |de |der |al-)?{_CAP})*")
_PLACE_SPAN = re.compile(rf"\b(?:in|aus|nach|bei|im|from|at|near)\s+(?:der |dem |den |the )?{_CAP}(?:\s+{_CAP})*(?:\s+im\s+[\w\-]+\s+{_CAP}(?:\s+{_CAP})*)?")


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # offsets inside the sentence
    end: int


def _clean(sentence: str, m: re.Match) -> Span | None:
    s, e = m.start(), m.end()
    text = sentence[s:e].strip(" ,;:()„“\"")
    if not text:
        return None
    s = sentence.find(text, s)
    return Span(text, s, s + len(text))


def number_spans(sentence: str) -> list[Span]:
    out = []
    for m in _NUMBER_SPAN.finditer(sentence):
        span = _clean(sentence, m)
        if span and re.search(r"\d|" + _NUMWORD, span.text, re.I) and not re.fullmatch(_YEAR, span.text):
            out.append(span)  # a bare year answers "wann", not "wie viel"
    return out


def time_spans(sentence: str) -> list[Span]:
    return [s for m in _TIME_SPAN.finditer(sentence) if (s := _clean(sentence, m))]


def place_spans(sentence: str) -> list[Span]:
    return [s for m in _PLACE_SPAN.finditer(sentence) if (s := _clean(sentence, m))]


def name_spans(sentence: str) -> list[Span]:
    """Runs of capitalised words that are not just one German noun at the sentence start."""
    out = []
    for m in _NAME_SPAN.finditer(sentence):
        toks = m.group().split()
        # drop capitalised function words at the edges ("Die", "Der", "Laut")
        while toks and toks[0].lower() in STOPWORDS["de"] | STOPWORDS["en"]:
            toks = toks[1:]
        while toks and toks[-1].lower() in STOPWORDS["de"] | STOPWORDS["en"]:
            toks = toks[:-1]
        if not toks:
            continue
        text = " ".join(toks)
        start = sentence.find(text, m.start())
        if start < 0:
            continue
        if len(toks) == 1 and start == 0:
            continue  # a capitalised first word is usually not a name
        out.append(Span(text, start, start + len(text)))
    return out


_EXTRACTORS = {
    "number": number_spans,
    "time": time_spans,
    "place": place_spans,
    "person": name_spans,
}


def candidate_spans(kind: str, sentence: str) -> list[Span]:
    fn = _EXTRACTORS.get(kind)
    return fn(sentence) if fn else []


def strip_question_words(span: Span, sentence: str, question_terms: set[str], lang: str,
                         keep_tail: bool = False) -> Span | None:
    """Remove words the question already contains from the edges of a span: for "Wer wird
    Interims-CEO?", the answer in "Interims-CEO Jason Droege" is "Jason Droege". A span
    made only of question words is no answer. keep_tail keeps a trailing asked word, so a
    quantity keeps its noun ("etwa 900 Mitarbeiter")."""
    toks = list(re.finditer(r"\S+", span.text))

    def asked(tok: re.Match) -> bool:
        terms = set(analyze(tok.group(), "de")) | set(analyze(tok.group(), "en"))
        return bool(terms) and terms <= question_terms

    while toks and asked(toks[0]):
        toks = toks[1:]
    while keep_tail is False and toks and asked(toks[-1]):
        toks = toks[:-1]
    if not toks:
        return None
    s, e = span.start + toks[0].start(), span.start + toks[-1].end()
    text = sentence[s:e].strip(" ,;:()„“\"")
    return Span(text, s, s + len(text)) if text else None


def distance_to_question(sentence: str, span: Span, question_terms: set[str]) -> int:
    """Words between the span and the nearest word of the sentence that the question has
    too; large when the sentence shares no word with the question."""
    positions = []
    for i, m in enumerate(re.finditer(r"\w+", sentence)):
        if m.start() >= span.start and m.end() <= span.end:
            continue
        terms = set(analyze(m.group(), "de")) | set(analyze(m.group(), "en"))
        if terms & question_terms:
            positions.append((i, m.start()))
    if not positions:
        return 99
    words_before = len(re.findall(r"\w+", sentence[:span.start]))
    words_in = len(re.findall(r"\w+", span.text))
    best = 99
    for i, _ in positions:
        if i < words_before:
            best = min(best, words_before - i - 1)
        else:
            best = min(best, i - (words_before + words_in))
    return max(0, best)


@dataclass(frozen=True)
class ScoredSpan:
    passage_id: int
    span: Span
    distance: int
    score: float


def rank_spans(kind: str, question_terms: set[str], lang: str,
               passages: list[tuple[int, str, float]]) -> list[ScoredSpan]:
    """Candidate answers of the asked kind from (id, sentence, evidence score) triples,
    best first: a better sentence and a span closer to the question's words win."""
    out = []
    for pid, sentence, score in passages:
        for raw in candidate_spans(kind, sentence):
            span = strip_question_words(raw, sentence, question_terms, lang, keep_tail=kind == "number")
            if span is None:
                continue
            d = distance_to_question(sentence, span, question_terms)
            out.append(ScoredSpan(pid, span, d, score + 0.25 / (1 + d)))
    out.sort(key=lambda s: -s.score)
    return out
