"""The question, read once at the top of the pipeline into the record every later stage
reads: retrieval its Query, evidence selection and the policy its Question (language, kind,
unit, weighted terms), and whether it crossed languages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rag.answer.question import Question
from rag.index.lexical import LexicalIndex
from rag.types import Query

# (question, source language, target language) -> the translation, or None
Translator = Callable[[str, str, str], "str | None"]


@dataclass(frozen=True)
class Asked:
    question: Question  # for a question in another language, terms are its translation's
    query: Query  # what retrieval matches: the question's own words
    cross_lingual: bool  # in a language the corpus is not written in
    translation: str | None
    unknown_terms: int  # question terms the corpus does not know at all (0 when cross-lingual)


def read_question(text: str, lex: LexicalIndex, translate: Translator | None = None) -> Asked:
    """Parse the question once; translate it when it is in another language than a
    one-language corpus (and a translator is given)."""
    q = Question.parse(text, lex.idf)
    query = Query(text, q.lang, tuple(lex.query_terms(text)))
    if q.lang in lex.languages:
        forms = {t: known_form(t, q.lang, lex) for t in (*q.terms, *query.terms)}
        q = replace(q, terms={forms[t]: w if forms[t] == t else lex.idf(forms[t]) for t, w in q.terms.items()})
        query = replace(query, terms=tuple(dict.fromkeys(forms[t] for t in query.terms)))
        return Asked(q, query, False, None, sum(not lex.knows(t) for t in q.terms))
    target = lex.languages[0] if len(lex.languages) == 1 else None
    translated = translate(text, q.lang, target) if target and translate else None
    parsed = Question.parse(translated, lex.idf) if translated else q
    terms = parsed.terms
    # Only words the corpus knows count: a translation's odd word choice, or an
    # untranslated question's own words, are not evidence of a missing fact.
    q = replace(q, terms={t: (w if lex.knows(t) else 0.0) for t, w in terms.items()}, focus=parsed.focus)
    return Asked(q, query, True, translated, 0)


# a finite verb's endings, which the stemmer keeps: "sitzt" stays "sitzt" while "Sitz" is "sitz"
_VERB_ENDINGS = {"de": ("test", "tet", "est", "st", "et", "t")}


def known_form(term: str, lang: str, lex: LexicalIndex) -> str:
    """A question term the corpus does not know, as its verb stem when the corpus knows that
    ("In welcher Stadt sitzt Scale AI?" and "mit Sitz in San Francisco"); else the term."""
    if lex.knows(term):
        return term
    for end in _VERB_ENDINGS.get(lang, ()):
        stem = term[: -len(end)]
        if term.endswith(end) and len(stem) >= 3 and lex.knows(stem):
            return stem
    return term
