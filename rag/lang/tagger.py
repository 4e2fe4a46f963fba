"""Part-of-speech tags and lemmas for a sentence, with document offsets.

A thin wrapper over HanTa (the Hanover Tagger): its German model gives STTS tags, its
English model BNC (CLAWS5) tags, which are mapped here to the STTS tags the German model
uses, so that the code reading tags (rag/answer/candidates.py) knows one tag set. HanTa's
models ship inside its wheel: nothing is downloaded. It is imported on first use only, as
loading a model takes about a quarter of a second.

Tokens come from a small tokeniser here rather than from HanTa's caller's choice: it keeps
the character offsets (answers cite exact spans) and keeps German numbers whole ("14,3",
"1.300"), ordinals ("12.") and abbreviations ("ca.").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.lang.lexicon import ABBREVIATIONS

# A day or ordinal ("am 12. März", "3. Platz") keeps its period unless it ends the text;
# numbers keep their separators ("3:08") and a decade its ending ("1950er"); words keep inner
# hyphens, apostrophes, dots and ampersands.
_TOKEN = re.compile(r"\d{1,2}\.(?=[ \t\u00a0]+\S)|\d+(?:[.,:]\d+)*(?:er|ern|ers)?(?!\w)|\w+(?:[-'’.&/]\w+)*-?|[^\w\s]")

_MODELS = {"de": "morphmodel_ger.pgz", "en": "morphmodel_en.pgz"}

# BNC (CLAWS5) tags of HanTa's English model -> the STTS tag of the same role.
_CLAWS_TO_STTS = {
    "AT0": "ART",
    "NN0": "NN",
    "NN1": "NN",
    "NN2": "NN",
    "NP0": "NE",
    "AJ0": "ADJA",
    "AJC": "ADJA",
    "AJS": "ADJA",
    "ORD": "ADJA",
    "CRD": "CARD",
    "PRP": "APPR",
    "PRF": "APPR",
    "DPS": "PPOSAT",
    "DT0": "PIAT",
    "CJC": "KON",
    "CJS": "KOUS",
    "PUN": "$.",
    "PUQ": "$(",
    "PUL": "$(",
    "PUR": "$(",
    "POS": "$(",
}


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # document offsets
    end: int
    pos: str  # STTS: NN, NE, ART, ADJA, CARD, APPR, APPRART, ...
    lemma: str


def tokenize(text: str, offset: int = 0) -> list[tuple[str, int, int]]:
    """Tokens of text with their offsets (text[0] is at document offset `offset`)."""
    out: list[tuple[str, int, int]] = []
    for m in _TOKEN.finditer(text):
        s, e = m.start(), m.end()
        if out and m.group() == "." and s == out[-1][2] - offset and out[-1][0].lower() in ABBREVIATIONS:
            word, ws, _ = out.pop()
            out.append((word + ".", ws, e + offset))
            continue
        out.append((m.group(), s + offset, e + offset))
    return out


@lru_cache(maxsize=2)
def _hanta(lang: str) -> Any:
    from HanTa import HanoverTagger  # lazy: the model takes ~0.25 s to load

    return HanoverTagger.HanoverTagger(_MODELS[lang])


def _stts(tag: str, lang: str) -> str:
    if lang == "en":
        return _CLAWS_TO_STTS.get(tag, "X" + tag)
    # HanTa writes "VV(FIN)", "ADJ(A)"; STTS writes VVFIN, ADJA
    return tag.replace("(", "").replace(")", "")


@lru_cache(maxsize=4096)
def tag(sentence: str, offset: int = 0, lang: str = "de") -> tuple[Token, ...]:
    """Tokens of one sentence with tags and lemmas; a language without a model is read as German."""
    lang = lang if lang in _MODELS else "de"
    toks = tokenize(sentence, offset)
    if not toks:
        return ()
    tagged = _hanta(lang).tag_sent([t for t, _, _ in toks], taglevel=1)
    return tuple(Token(t, s, e, _stts(p, lang), lemma) for (t, s, e), (_, lemma, p) in zip(toks, tagged, strict=True))
