"""Citation checking: pure functions over an answer text and the passages that were in the
prompt. Nothing here trusts the model: a citation must name a passage that exists, and the
facts of an answer (numbers, names) must occur in the passages it cites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lang.lexicon import ALL_STOPWORDS, CITATION_MARKER, COMMON_NOUN, FRAME_WORDS, NUMBER, both
from rag.lang.text import canonical_words, fold, marker_ids, normalize_number, numbers, stem, words
from rag.types import Passage

_FRAME_WORDS = frozenset(fold(w) for w in both(FRAME_WORDS))
# Unit words that mean the same in German and English answers, read without a language:
# the answer and its passages may be in different ones.
_EQUIVALENT = canonical_words()


def parse_citations(text: str, valid_ids: set[int]) -> tuple[str, list[int]]:
    """Remove citation markers that name no passage; return the cleaned text and the
    valid ids in order of first appearance. '[1, 7]' with 7 invented becomes '[1]'."""
    cited: list[int] = []

    def repl(m: re.Match) -> str:
        ids = marker_ids(m)
        keep = [i for i in ids if i in valid_ids]
        for i in keep:
            if i not in cited:
                cited.append(i)
        return "[" + ", ".join(map(str, keep)) + "]" if keep else ""

    cleaned = CITATION_MARKER.sub(repl, text)
    cleaned = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()
    return cleaned, cited


def renumber(text: str, cited: list[int]) -> str:
    """Number the cited passages 1..n in the order the answer cites them, so a reader sees
    [1] and [2] rather than [3] alone. Ids not in `cited` are dropped."""
    new = {old: i + 1 for i, old in enumerate(cited)}

    def repl(m: re.Match) -> str:
        ids = [new[i] for i in marker_ids(m) if i in new]
        return "[" + ", ".join(map(str, dict.fromkeys(ids))) + "]" if ids else ""

    return CITATION_MARKER.sub(repl, text)


def strip_markers(text: str) -> str:
    return re.sub(r"\s{2,}", " ", CITATION_MARKER.sub("", text)).strip()


def name_words(text: str) -> list[str]:
    """Capitalised words and acronyms that state a fact (names, places, organisations)."""
    out = []
    for w in words(strip_markers(text)):
        if not w[:1].isupper() or w[:1].isdigit():
            continue
        low = w.lower()
        if COMMON_NOUN.search(low) and not w.isupper():
            continue
        if low in ALL_STOPWORDS or fold(w) in _FRAME_WORDS:
            continue
        out.append(w)
    return out


@dataclass(frozen=True)
class Grounding:
    ok: bool
    missing: tuple[str, ...]  # facts of the answer that no cited passage contains


def _word_in(word: str, folded_text: str, stems: set[str]) -> bool:
    f = fold(word)
    if re.search(r"(?<!\w)" + re.escape(f), folded_text):
        return True  # also accepts inflected forms of the word in the text ("Metas" for "Meta")
    return any(stem(word.lower(), lang) in stems for lang in ("de", "en"))


def check_grounding(answer: str, passages: list[Passage]) -> Grounding:
    """Every number and name in `answer` must occur in at least one of `passages`."""
    text = " ".join(p.text for p in passages)
    folded = fold(text)
    stems = {stem(w.lower(), lang) for w in words(text) for lang in ("de", "en")}
    missing: list[str] = []
    have_numbers = numbers(text)
    for m in NUMBER.finditer(strip_markers(answer)):
        if normalize_number(m.group()) not in have_numbers:
            missing.append(m.group())
    for w in name_words(answer):
        if _EQUIVALENT.get(w.lower()) and any(
            _EQUIVALENT.get(x.lower()) == _EQUIVALENT[w.lower()] for x in words(text)
        ):
            continue
        if not _word_in(w, folded, stems):
            missing.append(w)
    return Grounding(not missing, tuple(dict.fromkeys(missing)))


def attach_citations(answer: str, passages: list[Passage]) -> list[int]:
    """For an answer that cites nothing: the passages that contain its facts (or, if it has
    none, that share most words with it), best first."""
    facts = [normalize_number(m.group()) for m in NUMBER.finditer(answer)] + name_words(answer)
    scored = []
    for p in passages:
        folded = fold(p.text)
        have = numbers(p.text)
        hits = sum((f in have) if f[:1].isdigit() else (fold(f) in folded) for f in facts)
        if not facts:
            hits = len({fold(w) for w in words(answer)} & {fold(w) for w in words(p.text)})
        if hits:
            scored.append((-hits, p.id))
    return [pid for _, pid in sorted(scored)][:2]


def repair_citations(answer: str, cited: list[int], passages: list[Passage]) -> tuple[list[int], Grounding]:
    """Keep the model's citations when they ground the answer; otherwise cite the passages
    that do (a tiny model often cites the wrong number for a right fact)."""
    by_id = {p.id: p for p in passages}
    if cited:
        g = check_grounding(answer, [by_id[i] for i in cited])
        if g.ok:
            return cited, g
    for i in attach_citations(answer, passages):
        g = check_grounding(answer, [by_id[i]])
        if g.ok:
            return [i], g
    return cited, check_grounding(answer, [by_id[i] for i in cited] if cited else [])
