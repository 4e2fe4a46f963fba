"""Language-aware text primitives shared by chunking, retrieval, answering and evaluation.

Everything here is pure: strings in, strings/spans out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from rag.lang.lexicon import (
    ABBREVIATIONS,
    ALL_STOPWORDS,
    LANGUAGES,
    MONTHS,
    NUMBER,
    QUESTION_WORDS,
    SCALES,
    STOPWORDS,
    UNIT_SYNONYMS,
)

_UMLAUT_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_WORD = re.compile(r"\w+", re.UNICODE)


def detect_language(text: str) -> str:
    """'de' or 'en', by which stopword list covers more of the words."""
    words = [w.lower() for w in _WORD.findall(text)]
    de = sum(w in STOPWORDS["de"] for w in words)
    en = sum(w in STOPWORDS["en"] for w in words)
    if de == en:
        # Umlauts and ß are a strong German signal in short questions.
        return "de" if re.search(r"[äöüßÄÖÜ]", text) else "en"
    return "de" if de > en else "en"


def fold(text: str) -> str:
    """Lower-case and spell umlauts and ß out, so 'Größe' and 'groesse' compare equal."""
    return unicodedata.normalize("NFC", text).translate(_UMLAUT_FOLD).lower()


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=4)
def _stemmer(lang: str):
    import Stemmer  # PyStemmer: small C extension, imported only when text is analysed

    return Stemmer.Stemmer({"de": "german", "en": "english"}[lang])


def stem(word: str, lang: str) -> str:
    return _stemmer(lang).stemWord(word)


_DERIVATIONS = ("ierung", "ition", "ation", "iert", "ier", "ung")


def root(word: str, lang: str) -> str:
    """The Snowball stem, and for German also without the endings that separate a verb
    from its noun and participle, which Snowball keeps: investiert / Investition -> invest,
    gegründet / Gründung -> grund."""
    s = stem(word, lang)
    if lang != "de":
        return s
    if s.startswith("ge") and len(s) > 6 and word.endswith(("et", "ete", "eten", "etes", "eter")):
        s = s[2:]  # participles of weak verbs: gegründet, gearbeitet
    if word.endswith("ieren") and s.endswith("i") and len(s) > 5:
        return s[:-1]
    for suffix in _DERIVATIONS:
        # "-ung" needs a longer rest: Gründung -> grund, but Zeitung is not Zeit
        if s.endswith(suffix) and len(s) - len(suffix) >= (5 if suffix == "ung" else 4):
            return s[: -len(suffix)]
    return s


def analyze(
    text: str,
    lang: str,
    all_stopwords: bool = False,
    known: Callable[[str], bool] | None = None,
    memo: dict[str, tuple[str, ...]] | None = None,
) -> list[str]:
    """Terms for lexical search: lower-case words without stopwords, stemmed, folded.

    all_stopwords drops the stopwords of every language: a question may be in another
    language than the text, and its "the"/"who" must not match an English title.
    known: a vocabulary test; German compounds whose parts it knows also yield the parts.
    memo: each word's terms, kept across calls with the same lang, all_stopwords and known
    (indexing analyses every word of a corpus, most of them many times).
    """
    stops = ALL_STOPWORDS if all_stopwords else STOPWORDS[lang]
    out: list[str] = []
    for w in words(text.lower()):
        if memo is not None:
            terms = memo.get(w)
            if terms is None:
                terms = memo[w] = tuple(_word_terms(w, lang, stops, known))
            out.extend(terms)
        else:
            out.extend(_word_terms(w, lang, stops, known))
    return out


def _word_terms(w: str, lang: str, stops, known: Callable[[str], bool] | None) -> list[str]:
    if w in stops or w in QUESTION_WORDS:
        return []
    terms = [fold(root(w, lang))]
    if known is not None and lang == "de":
        terms.extend(compound_parts(w, known))
    return terms


_LINKS = ("", "s", "es", "n", "en", "e")


def compound_parts(word: str, known: Callable[[str], bool], min_part: int = 4) -> list[str]:
    """Stems of the two parts of a German compound, when both are known words:
    'fehlerquelle' -> ['fehl', 'quell'], 'wikingersiedlern' -> ['wiking', 'siedl'].
    Linking elements (Investition-s-kapital) are dropped. The split with the most even
    parts wins; nothing is returned for words that do not split into known parts."""
    if len(word) < 2 * min_part or not word.isalpha():
        return []
    best, best_score = [], 0
    for i in range(min_part, len(word) - min_part + 1):
        left, right = word[:i], word[i:]
        rs = fold(root(right, "de"))
        if not known(rs):
            continue
        for link in _LINKS:
            if link and not left.endswith(link):
                continue
            head = left[: len(left) - len(link)] if link else left
            if len(head) < min_part:
                continue
            hs = fold(root(head, "de"))
            score = min(len(head), len(right))
            if known(hs) and score > best_score:
                best, best_score = [hs, rs], score
    return best


def content_words(text: str) -> list[str]:
    """The words of a question that say what it is about (no stopwords, no question words)."""
    return [w for w in words(text) if w.lower() not in ALL_STOPWORDS and w.lower() not in QUESTION_WORDS]


# ---------------------------------------------------------------- numbers


def normalize_number(raw: str) -> str:
    """'14,3' and '14.3' -> '14.3'; '1.300' and '1,300' -> '1300' (a group of exactly
    three digits after a separator is a thousands group; anything else is a decimal)."""
    parts = re.split(r"[.,]", raw)
    if len(parts) == 1:
        return parts[0]
    head, tail = parts[0], parts[1:]
    if all(len(p) == 3 for p in tail):
        return head + "".join(tail)
    fraction = tail[-1]
    # a three-digit fraction would read as a thousands group when normalised again
    # ("1.234,567" -> "1234.5670", not "1234.567" -> "1234567"): same value, fixed point
    return head + "".join(tail[:-1]) + "." + (fraction + "0" if len(fraction) == 3 else fraction)


def numbers(text: str) -> set[str]:
    return {normalize_number(m.group()) for m in NUMBER.finditer(text)}


def scale(word: str, lang: str) -> float:
    """The factor a scale word stands for in a text of language `lang` (1.0 for other
    words): 'Billion' is 1e12 in German, 'billion' 1e9 in English. A word only another
    language has ("trillion" in a German text) is read as that language reads it."""
    word = word.lower().rstrip(".")
    for table in [SCALES.get(lang, {})] + [SCALES[other] for other in LANGUAGES if other != lang]:
        if word in table:
            return table[word]
    return 1.0


def canonical_words(lang: str | None = None) -> dict[str, str]:
    """Unit and scale words -> their English spelling ('Mrd.' -> 'billion', 'Prozent' ->
    'percent'), so answers in either language compare. The scale words English shares with
    another language map to themselves unless `lang` names that language: German
    'Billion' -> 'trillion' for lang 'de'; with no language it stays 'billion'."""
    english = {value: word for word, value in SCALES["en"].items()}
    out = dict(UNIT_SYNONYMS)
    for other in LANGUAGES:
        for word, value in SCALES[other].items():
            if other == lang or word not in SCALES["en"]:
                out.setdefault(word, english[value])
    for word in SCALES["en"]:
        out.setdefault(word, word)
    return out


def marker_ids(marker: re.Match) -> list[int]:
    """The passage numbers in a CITATION_MARKER match: '[1, 3]' -> [1, 3]."""
    return [int(x) for x in re.split(r"[,;]", marker.group(1))]


# ---------------------------------------------------------------- sentences

_BOUNDARY = re.compile(r"[.!?…]+[\"'“”»«‘’)\]]*(?=\s)")


def _ends_sentence(text: str, dot: int, after: int) -> bool:
    """Decide whether the punctuation at text[dot] ends a sentence; text[after:] starts the
    next candidate sentence (past the whitespace)."""
    if text[dot] != ".":
        return True
    nxt = text[after : after + 30]
    if not nxt:
        return True
    token = re.search(r"(\S+)$", text[max(0, dot - 64) : dot])  # a bounded look back: linear time
    prev = token.group(1) if token else ""
    bare = prev.lstrip("(\"'„“»«").lower()
    if bare in ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()):
        return False
    if re.fullmatch(r"([a-zäöü]\.)+[a-zäöü]", bare):  # z.B, u.a, d.h written without spaces
        return False
    m = re.match(r"\S+", nxt)
    if m is None:
        return True
    first = m.group(0).strip("\"'„“»«(")
    if bare.isdigit():
        # "am 14. Juni", "die 2. Runde": an ordinal, not the end of a sentence (German
        # writes ordinals with a period; English does not)
        if first.rstrip(".,").lower() in MONTHS["de"] or first[:1].islower():
            return False
    if nxt[0].islower():
        return False
    return True


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences in text[start:end], whitespace trimmed.

    Sentences end at . ! ? (with trailing quotes/brackets) unless the period belongs to an
    abbreviation, an initial or an ordinal number, and always at a line break: headlines,
    captions and paragraphs in news text stand on lines of their own.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        ls, le = start + line.start(), start + line.end()
        cur = ls
        for m in _BOUNDARY.finditer(text, ls, le):
            after = m.end()
            while after < le and text[after].isspace():
                after += 1
            if _ends_sentence(text, m.start(), after):
                spans.append((cur, m.end()))
                cur = after
        spans.append((cur, le))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed
