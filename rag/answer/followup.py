"""Make a follow-up question self-contained from the previous turn. Pure.

"Und wer wird Interims-CEO?" after "Wie viel investiert Meta in Scale AI?" is retrieved as
"Und wer wird Interims-CEO? (Meta Scale AI)": the earlier question's names and nouns that
the follow-up lacks are added. The small default model cannot be trusted to rewrite a
question, and added context words only widen retrieval; the follow-up's own words still
decide which sentence answers it.
"""

from __future__ import annotations

import re

from rag.lang.lexicon import ALL_STOPWORDS, CITATION_MARKER, FOLLOW_UP_LEADS, PERSONAL_PRONOUNS, POINTER_WORDS, both
from rag.lang.text import detect_language, fold, root

# A question that leans on the one before it: a leading "and"/"what about", or a pronoun
# or place word pointing back.
_LEADS = re.compile(r"^(" + "|".join(both(FOLLOW_UP_LEADS)) + r")\b", re.IGNORECASE)
_PERSONAL = frozenset(both(PERSONAL_PRONOUNS))
SHORT = 4  # words: a question this short rarely names what it is about


def is_follow_up(question: str) -> bool:
    words = re.findall(r"[\wÄÖÜäöüß-]+", question)
    if not words:
        return False
    # short and naming nothing ("Und wann?", "Wie viel?"); a short question with a name or
    # noun in it ("Wer gründete Scale AI?") stands on its own
    names_nothing = len(words) <= SHORT and not any(w[0].isupper() or w[0].isdigit() for w in words[1:])
    return (
        bool(_LEADS.search(question.strip()))
        or names_nothing
        or any(w.lower() in POINTER_WORDS for w in words[1:] + words[:1])
    )


def context_words(question: str) -> list[str]:
    """The words of a question that say what it is about: names, numbers, nouns (German
    capitalises them) and other non-stopwords, in order, without question words."""
    out = []
    for w in re.findall(r"[\wÄÖÜäöüß][\wÄÖÜäöüß.-]*[\wÄÖÜäöüß]|\w", question):
        low = w.lower()
        if low in ALL_STOPWORDS or low in POINTER_WORDS or len(w) < 2:
            continue
        out.append(w)
    return out


def answer_names(answer: str) -> list[str]:
    """The names in an answer's short part ("Jason Droege – „...“ [1]" -> Jason, Droege):
    who a following "er" or "she" most likely means."""
    lead = answer.split(" – ")[0] if " – " in answer else answer
    lead = CITATION_MARKER.sub("", lead)
    return [w for w in re.findall(r"[A-ZÄÖÜ][\wäöüß-]+", lead) if w.lower() not in ALL_STOPWORDS][:4]


def referent(question: str, previous: str | None, previous_answer: str | None) -> list[str]:
    """The names a personal pronoun of a follow-up means: "er"/"she" is the person the
    previous answer named, when it named one (it was asked "who"); [] when the follow-up
    has no such pronoun or the previous answer named no one (then the pronoun means whom
    the previous question was about, and its words are added as context)."""
    if not previous or not previous_answer or not is_follow_up(question):
        return []
    words = {w.lower() for w in re.findall(r"\w+", question)}
    asked_who = re.match(r"\s*(und\s+|and\s+)?(wer|who|whom)\b", previous, re.IGNORECASE)
    return answer_names(previous_answer) if asked_who and words & _PERSONAL else []


def mentions(names: list[str], text: str, lang: str) -> bool:
    """Whether text names any of names (by stem: "Droeges" names Droege)."""
    have = _stems(text, lang)
    return any(root(fold(n), lang) in have for n in names)


def _stems(text: str, lang: str) -> set[str]:
    return {root(fold(w), lang) for w in re.findall(r"\w+", text)}


def self_contained(question: str, previous: str | None, previous_answer: str | None = None) -> str:
    """The question to retrieve with: itself, or itself plus what the previous (already
    self-contained) question was about; a personal pronoun brings the names of the
    previous answer first ("Und wo wurde er geboren?" after "Jason Droege ...")."""
    if not previous or not is_follow_up(question):
        return question
    have = {fold(w) for w in context_words(question)}
    named = referent(question, previous, previous_answer)
    missing = [w for w in dict.fromkeys(named + context_words(previous)) if fold(w) not in have and not _LEADS.match(w)]
    # only the previous question's topic, not its question words or verbs in lower case
    topic = [w for w in missing if w[0].isupper() or w[0].isdigit()] or missing
    if not topic:
        return question
    return f"{question} ({' '.join(topic)})"


def answered_by(question: str, evidence: str) -> bool:
    """Whether evidence holds any of a follow-up's own words (by stem). The context words
    added for retrieval can match a passage about the topic that says nothing of what
    the follow-up asks ("Und wo wurde er geboren?" and a sentence on his career)."""
    lang = detect_language(question)
    own = {
        root(fold(part), lang)
        for w in context_words(question)
        for part in re.findall(r"\w+", w)
        if part.lower() not in ALL_STOPWORDS
    }
    if not own:
        return True
    return bool(own & _stems(evidence, lang))
