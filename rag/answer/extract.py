"""The model's own short answer: it reads the best evidence sentence and the question and
copies the span that answers it; snap() finds that span in the sentence. The reader weighs
it as one more signal beside the tagged candidates (reader.py): a 270M model copies the
right span of the right sentence more often than a linear scorer over tags picks it, and
less often than both together."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer import prompts
from rag.answer.evidence import Candidate
from rag.lang.text import detect_language
from rag.llm.base import Generation, LanguageModel

MAX_TOKENS = 16  # a short answer; longer output is no span worth copying


@dataclass(frozen=True)
class Extracted:
    text: str  # what the model wrote, trimmed
    start: int | None  # document offsets of that text in the sentence, when it is there
    end: int | None


_TRIM = " \t\"'„“”‚‘’»«.,;:!?()[]"


def snap(written: str, sentence: str) -> tuple[int, int] | None:
    """Offsets in `sentence` of the model's written answer: verbatim, else ignoring case and
    runs of whitespace; None when the sentence does not hold it. Pure."""
    text = written.strip(_TRIM)
    if not text:
        return None
    i = sentence.find(text)
    if i >= 0:
        return i, i + len(text)
    pattern = r"\s+".join(re.escape(w) for w in text.split())
    m = re.search(pattern, sentence, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def extract(model: LanguageModel, sentence: str, offset: int, question: str, lang: str, gen: Generation) -> Extracted:
    """The model's answer to `question` from `sentence` (which starts at document offset
    `offset`, in language `lang`)."""
    if model.capabilities.chat:
        pieces = model.chat(prompts.extract_messages(sentence, question, lang), MAX_TOKENS, gen)
    else:
        pieces = model.complete(prompts.extract_prompt(sentence, question, lang), MAX_TOKENS, ["\n"], gen)
    written = "".join(pieces).strip().split("\n")[0].strip(_TRIM)
    found = snap(written, sentence)
    if found is None:
        return Extracted(written, None, None)
    return Extracted(sentence[found[0] : found[1]], offset + found[0], offset + found[1])


def copy_answer(model: LanguageModel, top: Candidate, question: str) -> Extracted:
    """The model's answer copied from the best evidence sentence `top`, in the language of its
    chunk."""
    return extract(model, top.text, top.start, question, _language(top), Generation(kind="extract"))


def answer_logprob(model: LanguageModel, sentence: Candidate, question: str, answer: str) -> tuple[float, int]:
    """The model's log-probability of `answer` as its copy from `sentence` (the prompt
    copy_answer gives it, so the best sentence's prompt is already in the model's cache), and
    the answer's number of tokens."""
    return model.text_logprob(prompts.extract_prompt(sentence.text, question, _language(sentence)), " " + answer)


def _language(sentence: Candidate) -> str:
    """The language of the sentence's chunk: a short sentence alone is often misread."""
    return detect_language(sentence.chunk_text or sentence.text)


def got_span(got: Extracted | None) -> bool:
    """Did the model copy a span of the sentence (rather than write something else)?"""
    return got is not None and got.start is not None
