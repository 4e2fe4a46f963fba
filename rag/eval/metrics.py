"""Evaluation metrics as pure functions over plain values. Table-tested in tests/test_metrics.py."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from rag.lang.lexicon import ARTICLES, CITATION_MARKER, NUMBER, NUMBER_WORDS, SCALES, both
from rag.lang.text import canonical_words, fold, normalize_number

_ARTICLES = frozenset(both(ARTICLES))
_NUMBER_WORDS = {fold(w): n for lang in NUMBER_WORDS for w, n in NUMBER_WORDS[lang].items()}
# a number word before a scale word or "hundred" (prefixes: "milliarde" also finds "milliarden")
_SCALED_WORD = re.compile(
    r"\b("
    + "|".join(_NUMBER_WORDS)
    + r")\s+(?=("
    + "|".join(
        sorted(
            {fold(w) for table in SCALES.values() for w in table}
            | {fold(w) for w, n in _NUMBER_WORDS.items() if n == 100}
        )
    )
    + "))"
)


@lru_cache(maxsize=4)
def _synonyms(lang: str | None) -> tuple[re.Pattern, dict[str, str]]:
    """Surface forms that mean the same thing (unit and scale words -> English), as one
    pattern, so that no replacement is replaced again ('Milliarde' -> 'billion' must not
    go on to German 'Billion' -> 'trillion')."""
    table = {fold(k): v for k, v in canonical_words(lang).items()}
    alternatives = [
        rf"\b{re.escape(k)}\b" if k[0].isalnum() else re.escape(k) for k in sorted(table, key=len, reverse=True)
    ]
    return re.compile("|".join(alternatives)), table


def normalize_answer(text: str, lang: str | None = None) -> str:
    """Case, umlauts/ß, punctuation, articles, number formats and common unit words folded
    away, so 'Die 14,3 Milliarden US-Dollar.' and '14.3 billion dollar' compare equal.
    lang: the language answer and gold are in, if known: it decides whether 'Billion' is
    a German 10^12 ('trillion') or an English 10^9."""
    text = CITATION_MARKER.sub(" ", text)  # citation markers are not part of the answer
    text = fold(text)
    # "eine Milliarde" is "1 billion", not the article "eine" and any billion
    text = _SCALED_WORD.sub(lambda m: f"{_NUMBER_WORDS[m.group(1)]} ", text)
    text = NUMBER.sub(lambda m: " " + normalize_number(m.group()) + " ", text)
    synonyms, table = _synonyms(lang)
    text = synonyms.sub(lambda m: f" {table[m.group()]} ", text)
    # punctuation -> space, but keep the decimal point inside numbers
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^\w.]+", " ", text)
    return " ".join(t for t in text.split() if t not in _ARTICLES)


def _is_acronym(text: str) -> bool:
    return 2 <= len(text) <= 5 and text.isalpha() and text.isupper()


def contains_answer(answer: str, golds: list[str], lang: str | None = None) -> bool:
    """A gold answer occurs in the answer, on word boundaries, after normalisation.
    Acronyms keep their case: gold "MIT" must not match the German word "mit"."""
    hay = f" {normalize_answer(answer, lang)} "
    for gold in golds:
        if _is_acronym(gold):
            if re.search(rf"(?<!\w){gold}(?!\w)", answer):
                return True
            continue
        norm = normalize_answer(gold, lang)
        if norm and f" {norm} " in hay:
            return True
    return False


def exact_match(answer: str, golds: list[str], lang: str | None = None) -> float:
    """SQuAD-style exact match: 1.0 when the normalised answer equals a normalised gold."""
    pred = normalize_answer(answer, lang)
    return float(any(pred == normalize_answer(g, lang) for g in golds))


def consistency(correct_by_fact: dict[str, list[bool]]) -> float | None:
    """Share of facts answered right in every phrasing asked."""
    facts = [all(v) for v in correct_by_fact.values() if v]
    return sum(facts) / len(facts) if facts else None


def token_f1(answer: str, golds: list[str], lang: str | None = None) -> float:
    """SQuAD-style token F1 against the best-matching gold answer."""
    pred = normalize_answer(answer, lang).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold, lang).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not common:
            continue
        p, r = common / len(pred), common / len(ref)
        best = max(best, 2 * p * r / (p + r))
    return best


def source_matches(path: str, gold_sources: list[str]) -> bool:
    """Gold sources name files by path suffix: '004_a.txt' matches 'seeds/004_a.txt'."""
    p = path.replace("\\", "/")
    return any(p == g or p.endswith("/" + g.lstrip("/")) for g in gold_sources)


def file_ranking(sources: list[str]) -> list[str]:
    """Ranked chunks -> ranked files (first occurrence of each file)."""
    return list(dict.fromkeys(sources))


def hit_at(ranked_files: list[str], gold_sources: list[str], k: int) -> float:
    return 1.0 if any(source_matches(f, gold_sources) for f in ranked_files[:k]) else 0.0


def first_rank(ranked_files: list[str], gold_sources: list[str]) -> int | None:
    """The 1-based rank of the first gold file, None when none was retrieved."""
    return next((i for i, f in enumerate(ranked_files, 1) if source_matches(f, gold_sources)), None)


def reciprocal_rank(ranked_files: list[str], gold_sources: list[str], k: int = 10) -> float:
    for i, f in enumerate(ranked_files[:k]):
        if source_matches(f, gold_sources):
            return 1.0 / (i + 1)
    return 0.0


def passage_hit(spans: list[tuple[str, int, int]], gold_sources: list[str], answer_start: int, k: int = 5) -> float:
    """The gold answer's character offset lies inside one of the top-k chunks of its file."""
    return (
        1.0
        if any(source_matches(src, gold_sources) and start <= answer_start < end for src, start, end in spans[:k])
        else 0.0
    )


def abstention(abstained: list[bool], answerable: list[bool]) -> dict:
    """Precision and recall of abstaining on unanswerable items, and how often it abstains
    on answerable ones. None where a ratio has no denominator."""
    both = sum(a and not ok for a, ok in zip(abstained, answerable))
    n_abst = sum(abstained)
    n_unans = sum(not ok for ok in answerable)
    n_ans = sum(answerable)
    wrong = sum(a and ok for a, ok in zip(abstained, answerable))
    return {
        "abstain_precision": both / n_abst if n_abst else None,
        "abstain_recall": both / n_unans if n_unans else None,
        "false_abstain_rate": wrong / n_ans if n_ans else None,
    }


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
