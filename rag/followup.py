"""Make a follow-up question self-contained from the previous turn. Pure.

"Und wer wird Interims-CEO?" after "Wie viel investiert Meta in Scale AI?" is retrieved as
"Und wer wird Interims-CEO? (Meta Scale AI)": the earlier question's names and nouns that
the follow-up lacks are added. The small default model cannot be trusted to rewrite a
question, and added context words only widen retrieval; the follow-up's own words still
decide which sentence answers it.
"""

from __future__ import annotations

import re

from rag.text import STOPWORDS, fold

# A question that leans on the one before it: a leading "and"/"what about", or a pronoun
# or place word pointing back.
_LEADS = re.compile(r"^(und|and|also|aber|but|what about|how about|und was|was ist mit|wie steht es mit|"
                    r"sowie|außerdem|ausserdem|then|dann)\b", re.IGNORECASE)
_POINTERS = {
    "er", "sie", "es", "ihn", "ihm", "ihr", "ihre", "ihren", "ihrem", "ihrer", "sein", "seine", "seinen", "seinem",
    "seiner", "dessen", "deren", "dort", "damals", "dafür", "davon", "daran", "diese", "dieser", "dieses", "diesen",
    "he", "she", "it", "its", "him", "his", "her", "hers", "they", "them", "their", "there", "this", "that", "these",
    "those", "then",
}
SHORT = 4  # words: a question this short rarely names what it is about
_STOP = STOPWORDS["de"] | STOPWORDS["en"] | {"wer", "was", "wo", "wie", "wann", "warum", "welche", "welcher",
                                             "welches", "wieviel", "who", "what", "where", "when", "why", "how",
                                             "which", "much", "many", "viel", "viele"}


def is_follow_up(question: str) -> bool:
    words = re.findall(r"[\wÄÖÜäöüß-]+", question)
    if not words:
        return False
    return bool(_LEADS.search(question.strip())) or len(words) <= SHORT or \
        any(w.lower() in _POINTERS for w in words[1:] + words[:1])


def context_words(question: str) -> list[str]:
    """The words of a question that say what it is about: names, numbers, nouns (German
    capitalises them) and other non-stopwords, in order, without question words."""
    out = []
    for w in re.findall(r"[\wÄÖÜäöüß][\wÄÖÜäöüß.-]*[\wÄÖÜäöüß]|\w", question):
        low = w.lower()
        if low in _STOP or low in _POINTERS or len(w) < 2:
            continue
        out.append(w)
    return out


def self_contained(question: str, previous: str | None) -> str:
    """The question to retrieve with: itself, or itself plus what the previous (already
    self-contained) question was about."""
    if not previous or not is_follow_up(question):
        return question
    have = {fold(w) for w in context_words(question)}
    missing = [w for w in dict.fromkeys(context_words(previous)) if fold(w) not in have
               and not _LEADS.match(w)]
    # only the previous question's topic, not its question words or verbs in lower case
    topic = [w for w in missing if w[0].isupper() or w[0].isdigit()] or missing
    if not topic:
        return question
    return f"{question} ({' '.join(topic)})"
