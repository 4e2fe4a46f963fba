"""A question in another language than the corpus, turned into the corpus's language by the
model, so its words can be matched against the text; a translation that loses the
question's names and numbers is not used."""

from __future__ import annotations

import re

from rag.answer import prompts
from rag.lang.text import detect_language
from rag.llm.base import Generation, LanguageModel

MAX_TOKENS = 48  # a question's length, with room


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def plausible_translation(original: str, translated: str, target: str) -> bool:
    """A translation is used only if it is in the target language and keeps the
    original's names and numbers (a model that cannot translate loses them)."""
    if not translated or detect_language(translated) != target:
        return False
    names = [w for w in re.findall(r"\w[\w\-]*", original)[1:] if w[:1].isupper() or w[:1].isdigit()]
    kept = sum(w.lower() in translated.lower() for w in names)
    return kept * 2 >= len(names)


def translate(model: LanguageModel, question: str, source: str, target: str) -> str | None:
    """The question in the target language, or None (no prompt for the pair, or an
    implausible translation)."""
    if (source, target) not in prompts.TRANSLATIONS:
        return None
    gen = Generation(kind="translate")
    for _ in model.complete(prompts.translation_prompt(question, source, target), MAX_TOKENS, ["\n"], gen):
        pass
    translated = first_line(gen.text)
    return translated if plausible_translation(question, translated, target) else None
