"""Answer-type-aware candidate spans inside an evidence sentence. Pure functions.

A question of a known kind (wie viel / wer / wo / wann / wie heißt) is answered by a short
span of a sentence: a quantity, a name, a place, a date. The span nearest to the words the
question shares with the sentence, in the same clause, is usually the answer: in
"beschäftigt etwa 900 Mitarbeiter und hat 1,35 Milliarden Dollar erhalten", the answer to
"wie viele Mitarbeiter" is 900, next to the question's words; 1,35 is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lang.lexicon import (
    ABBREVIATIONS,
    ALL_STOPWORDS,
    COMMON_NOUN_FORM,
    CURRENCIES,
    DAYS,
    DURATIONS,
    MONTHS,
    NAME_PARTICLES,
    NUMBER,
    NUMBER_WORDS,
    PLACE_ARTICLES,
    PLACE_PREPOSITIONS,
    QUALIFIERS,
    RELATIVE,
    SCALES,
    TIME_PREPOSITIONS,
    UNIT_WORDS,
    UNITS,
    YEAR,
    both,
    pattern,
)
from rag.lang.text import analyze, normalize_number, scale

# Scale words, an abbreviation with or without its period ("Mrd." and "Mrd"). Sorted
# longest first: "Milliarden" must not stop at "Milliarde".
_SCALE_WORDS = sorted({w for lang in SCALES for w in SCALES[lang]}, key=lambda w: (-len(w), w))
_SCALE = r"(?:\s*(?:" + "|".join(re.escape(w) + (r"\.?" if w in ABBREVIATIONS else "") for w in _SCALE_WORDS) + "))?"
_QUALIFIER = rf"(?:{pattern(both(QUALIFIERS))}\s+)?"
_NUMWORD = pattern(w for lang in NUMBER_WORDS for w, n in NUMBER_WORDS[lang].items() if n > 1)
_ONE = pattern(w for lang in NUMBER_WORDS for w, n in NUMBER_WORDS[lang].items() if n == 1)
_CURRENCY = pattern(CURRENCIES)
_UNIT = rf"(?:\s*(?:{_CURRENCY}|{pattern(both(UNIT_WORDS))})\b)?"
_ONE_SCALED = rf"\b{_ONE}\s+(?:{'|'.join(_SCALE_WORDS)})\b"
_NUMBER_SPAN = re.compile(
    rf"(?:[$€]\s*)?{_QUALIFIER}(?:{NUMBER.pattern}|\b{_NUMWORD}\b|{_ONE_SCALED})(?:-jährige[rn]?)?{_SCALE}{_UNIT}"
    rf"(?:\s+(?-i:[A-ZÄÖÜ][a-zäöüß]+))?",
    re.IGNORECASE,
)
_MONTHS = pattern(both(MONTHS))
_TIME_SPAN = re.compile(
    rf"(?:\b{pattern(both(TIME_PREPOSITIONS))}\s+)?(?:\d{{1,2}}\.\s*{_MONTHS}(?:\s+{YEAR.pattern})?|"
    rf"{_MONTHS}(?:\s+{YEAR.pattern})?|{YEAR.pattern}(?:er(?:jahren?)?|s)?|{pattern(both(DAYS))}|"
    rf"(?:\d+|{_NUMWORD})\s+{pattern(both(DURATIONS))}(?:\s+{pattern(both(RELATIVE))})?)",
    re.IGNORECASE,
)
_CAP = r"[A-ZÄÖÜ][\w\-.&]*\w"
_PARTICLE = "(?:" + "|".join(w if w.endswith("-") else w + " " for w in NAME_PARTICLES) + ")"
_NAME_SPAN = re.compile(rf"{_CAP}(?:\s+{_PARTICLE}?{_CAP})*")
_PLACE_ARTICLE = "(?:" + "|".join(w + " " for w in both(PLACE_ARTICLES)) + ")"
_PLACE_SPAN = re.compile(
    rf"\b{pattern(both(PLACE_PREPOSITIONS))}\s+{_PLACE_ARTICLE}?{_CAP}(?:\s+{_CAP})*"
    rf"(?:\s+im\s+[\w\-]+\s+{_CAP}(?:\s+{_CAP})*)?"
)
_CLAUSE_BREAK = re.compile(r"[,;:()–—]")


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # offsets inside the sentence
    end: int


def _clean(sentence: str, s: int, e: int) -> Span | None:
    text = sentence[s:e].strip(" ,;:()„“\"'«»")
    if not text:
        return None
    s = sentence.find(text, s)
    return Span(text, s, s + len(text))


def number_spans(sentence: str) -> list[Span]:
    out = []
    for m in _NUMBER_SPAN.finditer(sentence):
        span = _clean(sentence, m.start(), m.end())
        if span and not YEAR.fullmatch(span.text) and not re.fullmatch(r"(?i)an?", span.text):
            out.append(span)  # a bare year answers "wann", not "wie viel"
    return out


def time_spans(sentence: str) -> list[Span]:
    return [s for m in _TIME_SPAN.finditer(sentence) if (s := _clean(sentence, m.start(), m.end()))]


def place_spans(sentence: str) -> list[Span]:
    return [s for m in _PLACE_SPAN.finditer(sentence) if (s := _clean(sentence, m.start(), m.end()))]


def name_spans(sentence: str) -> list[Span]:
    """Runs of capitalised words; a lone capitalised first word is usually not a name."""
    out = []
    for m in _NAME_SPAN.finditer(sentence):
        toks = list(re.finditer(r"\S+", m.group()))
        while toks and toks[0].group().lower() in ALL_STOPWORDS:
            toks = toks[1:]
        while toks and toks[-1].group().lower() in ALL_STOPWORDS:
            toks = toks[:-1]
        if not toks:
            continue
        s, e = m.start() + toks[0].start(), m.start() + toks[-1].end()
        if len(toks) == 1 and s == 0:
            continue
        span = _clean(sentence, s, e)
        if span:
            out.append(span)
    return out


_EXTRACTORS = {
    "number": number_spans,
    "time": time_spans,
    "place": place_spans,
    "person": name_spans,
    "name": name_spans,
}


def candidate_spans(kind: str, sentence: str) -> list[Span]:
    fn = _EXTRACTORS.get(kind)
    return fn(sentence) if fn else []


def _forms(word: str) -> set[str]:
    return set(analyze(word, "de")) | set(analyze(word, "en"))


def strip_question_words(span: Span, sentence: str, question_terms: set[str], keep_tail: bool = False) -> Span | None:
    """Remove words the question already contains from the edges of a span: for "Wer wird
    Interims-CEO?", the answer in "Interims-CEO Jason Droege" is "Jason Droege". A span
    made only of question words is no answer. keep_tail keeps a trailing asked word, so a
    quantity keeps its noun ("etwa 900 Mitarbeiter")."""
    toks = list(re.finditer(r"\S+", span.text))

    def asked(tok: re.Match) -> bool:
        return bool(_forms(tok.group()) & question_terms)

    while toks and asked(toks[0]):
        toks = toks[1:]
    while not keep_tail and toks and asked(toks[-1]):
        toks = toks[:-1]
    if not toks:
        return None
    return _clean(sentence, span.start + toks[0].start(), span.start + toks[-1].end())


def distance_to_question(sentence: str, span: Span, question_terms: set[str]) -> int:
    """Words between the span and the nearest word of the sentence that the question has
    too, counting each clause break (comma, colon, bracket) in between as two more words;
    99 when the sentence shares no word with the question."""
    best = 99
    for m in re.finditer(r"\w[\w\-]*", sentence):
        if span.start <= m.start() < span.end or not (_forms(m.group()) & question_terms):
            continue
        lo, hi = (m.end(), span.start) if m.end() <= span.start else (span.end, m.start())
        between = sentence[lo:hi]
        d = len(re.findall(r"\w+", between)) + 2 * len(_CLAUSE_BREAK.findall(between))
        best = min(best, d)
    return best


def unit_fit(unit: str | None, span_text: str) -> float:
    """+1 when a quantity carries the unit asked for, -1 when it carries another one."""
    if unit is None:
        return 0.0
    has = {name: bool(unit_re.search(span_text)) for name, unit_re in UNITS.items()}
    if unit in has:
        if has[unit]:
            return 1.0
        return -1.0 if any(has.values()) else 0.0
    return -1.0 if has["money"] or has["percent"] else 0.0


def shape_fit(kind: str, span_text: str) -> float:
    """Names of people have two or more words; a single word with a common-noun ending
    ("Unternehmens") is rarely the name asked for."""
    toks = span_text.split()
    if kind == "person":
        if len(toks) >= 2 and all(t[:1].isupper() for t in toks):
            return 1.0
        return -1.0 if len(toks) == 1 and COMMON_NOUN_FORM.search(toks[0].lower()) else 0.0
    if (
        kind == "name"
        and len(toks) == 1
        and toks[0][1:].islower()
        and len(toks[0]) > 8
        and COMMON_NOUN_FORM.search(toks[0].lower())
    ):
        return -1.0
    return 0.0


@dataclass(frozen=True)
class ScoredSpan:
    passage_id: int
    span: Span
    distance: int
    score: float


# weights of the span features, added to the evidence score of the span's sentence
PROXIMITY, UNIT, SHAPE = 0.25, 0.15, 0.1


def rank_spans(
    kind: str, question_terms: set[str], passages: list[tuple[int, str, float]], unit: str | None = None
) -> list[ScoredSpan]:
    """Candidate answers of the asked kind from (id, sentence, evidence score) triples, best
    first: a better sentence, a span closer to the question's words and of the right unit
    and shape wins."""
    out = []
    for pid, sentence, score in passages:
        for raw in candidate_spans(kind, sentence):
            span = strip_question_words(raw, sentence, question_terms, keep_tail=kind == "number")
            if span is None:
                continue
            # a span introduced by two or more of the question's words ("Interims-CEO Jason
            # Droege") sits right at them
            introduced = (
                sum(bool(_forms(w) & question_terms) for w in re.findall(r"\w+", sentence[raw.start : span.start])) >= 2
            )
            d = 0 if introduced else distance_to_question(sentence, raw, question_terms)
            s = score + PROXIMITY / (1 + d) + UNIT * unit_fit(unit, span.text) + SHAPE * shape_fit(kind, span.text)
            out.append(ScoredSpan(pid, span, d, s))
    out.sort(key=lambda s: -s.score)
    return out


def trim_quote(sentence: str, max_words: int, keep: Span | None, question_terms: set[str]) -> str:
    """A sentence cut to at most max_words words, on clause boundaries, keeping the clause
    with the answer span (or the most question words) and its neighbours; "…" marks a cut."""
    if len(sentence.split()) <= max_words:
        return sentence
    bounds = [0] + [m.end() for m in re.finditer(r"[,;:–—]\s", sentence)] + [len(sentence)]
    clauses = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]

    def weight(c: tuple[int, int]) -> float:
        if keep is not None and c[0] <= keep.start < c[1]:
            return 1e6
        return sum(bool(_forms(w) & question_terms) for w in re.findall(r"\w+", sentence[c[0] : c[1]]))

    lo = hi = max(range(len(clauses)), key=lambda i: weight(clauses[i]))

    def n_words(a: int, b: int) -> int:
        return len(sentence[clauses[a][0] : clauses[b][1]].split())

    while True:  # grow towards the side with more question words while it fits
        options = [(weight(clauses[i]), i) for i in (lo - 1, hi + 1) if 0 <= i < len(clauses)]
        options = [o for o in options if n_words(min(lo, o[1]), max(hi, o[1])) <= max_words]
        if not options:
            break
        _, i = max(options)
        lo, hi = min(lo, i), max(hi, i)
    whole = sentence[clauses[lo][0] : clauses[hi][1]].strip(" ,;:–—")
    text = whole
    if len(text.split()) > max_words:  # one clause alone is too long: cut at words
        text = " ".join(text.split()[:max_words])
    return ("… " if lo > 0 else "") + text + (" …" if hi < len(clauses) - 1 or text != whole else "")


def quantity(span_text: str, lang: str) -> tuple[float, str] | None:
    """A number span's value (scale words applied, read in the text's language `lang`) and
    unit family: '14,3 Milliarden Dollar' -> (1.43e10, 'money'); '1,5 Billionen' is 1.5e12
    in German, '1.5 billion' 1.5e9 in English. None for spans without digits."""
    m = NUMBER.search(span_text)
    if not m:
        return None
    try:
        value = float(normalize_number(m.group()))
    except ValueError:
        return None
    for word in re.findall(r"[a-zäöü]+", span_text[m.end() :].lower())[:2]:
        value *= scale(word, lang)
    unit = next((name for name, unit_re in UNITS.items() if unit_re.search(span_text)), "count")
    return value, unit
