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

from rag.lang.text import STOPWORDS, analyze

_QUALIFIER = (r"(?:(?:etwa|rund|ca\.|circa|fast|knapp|über|mehr als|weniger als|bis zu|mindestens|gut|"
              r"about|around|nearly|almost|over|more than|less than|up to|at least|approximately)\s+)?")
_NUM = r"\d+(?:[.,]\d+)*"
_NUMWORD = (r"(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|hundert|tausend|"
            r"two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand)")
_SCALE = r"(?:\s*(?:Milliarden|Milliarde|Millionen|Million|Mrd\.?|Mio\.?|Tausend|Billionen|billion|million|thousand|trillion))?"
_CURRENCY = r"(?:US-Dollar|Dollar|Euro|Franken|Pfund|USD|EUR|\$|€|dollars?|euros?)"
_UNIT = rf"(?:\s*(?:{_CURRENCY}|Prozent|%|percent|Jahre|Jahren|Jahr|years?|Monate|months?|Meter|Kilometer|km|Menschen|people)\b)?"
_ONE_SCALED = r"\b(?:eine?|one|a)\s+(?:Milliarde|Million|Billion|billion|million|thousand)\b"
_NUMBER_SPAN = re.compile(
    rf"(?:[$€]\s*)?{_QUALIFIER}(?:{_NUM}|\b{_NUMWORD}\b|{_ONE_SCALED})(?:-jährige[rn]?)?{_SCALE}{_UNIT}"
    rf"(?:\s+(?-i:[A-ZÄÖÜ][a-zäöüß]+))?", re.IGNORECASE)
_YEAR = r"\b(?:1[5-9]\d\d|20\d\d)\b"
_MONTHS = (r"(?:Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
           r"January|February|March|May|June|July|October|December)")
_DAYS = r"(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_TIME_SPAN = re.compile(
    rf"(?:\b(?:am|im|seit|vor|in|on|since|until|bis)\s+)?(?:\d{{1,2}}\.\s*{_MONTHS}(?:\s+{_YEAR})?|"
    rf"{_MONTHS}(?:\s+{_YEAR})?|{_YEAR}(?:er(?:jahren?)?|s)?|{_DAYS}|"
    rf"(?:\d+|{_NUMWORD})\s+(?:Jahren?|Monaten?|years?|months?)(?:\s+(?:zuvor|später|ago|later))?)",
    re.IGNORECASE)
_CAP = r"[A-ZÄÖÜ][\w\-.&]*\w"
_NAME_SPAN = re.compile(rf"{_CAP}(?:\s+(?:von |van |de |der |al-|of |the )?{_CAP})*")
_PLACE_SPAN = re.compile(rf"\b(?:in|aus|nach|bei|im|from|at|near)\s+(?:der |dem |den |the )?{_CAP}(?:\s+{_CAP})*"
                         rf"(?:\s+im\s+[\w\-]+\s+{_CAP}(?:\s+{_CAP})*)?")
_COMMON_NOUN = re.compile(r"(ung|ungen|heit|keit|tion|tionen|schaft|ität|ismus|nis|tum|ment|ik|ie|ien|ens|ern)$")
_CLAUSE_BREAK = re.compile(r"[,;:()–—]")
_STOP = STOPWORDS["de"] | STOPWORDS["en"]


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
        if span and not re.fullmatch(_YEAR, span.text) and not re.fullmatch(r"(?i)an?", span.text):
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
        while toks and toks[0].group().lower() in _STOP:
            toks = toks[1:]
        while toks and toks[-1].group().lower() in _STOP:
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


_EXTRACTORS = {"number": number_spans, "time": time_spans, "place": place_spans,
               "person": name_spans, "name": name_spans}


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
    t = span_text
    has = {"money": bool(re.search(_CURRENCY, t, re.I)), "percent": bool(re.search(r"prozent|%|percent", t, re.I)),
           "age": bool(re.search(r"jahre|jährig|years? old|\byears?\b", t, re.I))}
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
        return -1.0 if len(toks) == 1 and _COMMON_NOUN.search(toks[0].lower()) else 0.0
    if kind == "name" and len(toks) == 1 and toks[0][1:].islower() and len(toks[0]) > 8 \
            and _COMMON_NOUN.search(toks[0].lower()):
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


def rank_spans(kind: str, question_terms: set[str], passages: list[tuple[int, str, float]],
               unit: str | None = None) -> list[ScoredSpan]:
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
            introduced = sum(bool(_forms(w) & question_terms)
                             for w in re.findall(r"\w+", sentence[raw.start:span.start])) >= 2
            d = 0 if introduced else distance_to_question(sentence, raw, question_terms)
            s = (score + PROXIMITY / (1 + d) + UNIT * unit_fit(unit, span.text)
                 + SHAPE * shape_fit(kind, span.text))
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
        return sum(bool(_forms(w) & question_terms) for w in re.findall(r"\w+", sentence[c[0]:c[1]]))

    lo = hi = max(range(len(clauses)), key=lambda i: weight(clauses[i]))

    def n_words(a: int, b: int) -> int:
        return len(sentence[clauses[a][0]:clauses[b][1]].split())

    while True:  # grow towards the side with more question words while it fits
        options = [(weight(clauses[i]), i) for i in (lo - 1, hi + 1) if 0 <= i < len(clauses)]
        options = [o for o in options if n_words(min(lo, o[1]), max(hi, o[1])) <= max_words]
        if not options:
            break
        _, i = max(options)
        lo, hi = min(lo, i), max(hi, i)
    text = sentence[clauses[lo][0]:clauses[hi][1]].strip(" ,;:–—")
    if len(text.split()) > max_words:  # one clause alone is too long: cut at words
        text = " ".join(text.split()[:max_words])
    return ("… " if lo > 0 else "") + text + (" …" if hi < len(clauses) - 1 or text != sentence[clauses[lo][0]:clauses[hi][1]].strip(" ,;:–—") else "")


_SCALES = {"tausend": 1e3, "thousand": 1e3, "million": 1e6, "millionen": 1e6, "mio": 1e6, "milliarde": 1e9,
           "milliarden": 1e9, "mrd": 1e9, "billion": 1e9, "billionen": 1e12, "trillion": 1e12}


def quantity(span_text: str) -> tuple[float, str] | None:
    """A number span's value (scale words applied) and unit family: '14,3 Milliarden
    Dollar' -> (1.43e10, 'money'). None for spans without digits."""
    from rag.lang.text import normalize_number

    m = re.search(r"\d+(?:[.,]\d+)*", span_text)
    if not m:
        return None
    try:
        value = float(normalize_number(m.group()))
    except ValueError:
        return None
    for word in re.findall(r"[a-zäöü]+", span_text[m.end():].lower())[:2]:
        value *= _SCALES.get(word, 1.0)
    unit = ("money" if re.search(_CURRENCY, span_text, re.I) else
            "percent" if re.search(r"prozent|%|percent", span_text, re.I) else
            "age" if re.search(r"jahre|jährig|years?", span_text, re.I) else "count")
    return value, unit
