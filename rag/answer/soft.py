"""Soft word match: how well the question's words are met by the words of an evidence
sentence, by the cosine of their embeddings.

Exact terms miss paraphrases and other languages: "sitzt" and "Sitz", "employees" and
"Mitarbeiter", "leave" and "verlassen" (whose German the small model may translate wrongly)
share no stem. The multilingual sentence embedder puts such words close together (USE v3:
cosine 0.75, 0.93, 0.86 here, against 0.30-0.45 for unrelated words), so each question word
scores by its best partner in the sentence. Word vectors are cached: evidence sentences
repeat their words from question to question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rag.lang.lexicon import ALL_STOPWORDS, QUESTION_WORDS

CACHE = 50_000  # words kept; a vector is 2 KB (512 float32)


def is_content(word: str) -> bool:
    """A word worth matching: no stopword, question word, punctuation or single letter."""
    low = word.lower()
    return len(word) > 1 and any(c.isalpha() for c in word) and low not in ALL_STOPWORDS and low not in QUESTION_WORDS


class WordVectors:
    """Unit vectors of single words from an encoder (the index's embedder), cached."""

    def __init__(self, encode: Callable[[list[str]], Any], size: int = CACHE):
        self.encode, self.size = encode, size
        self._cache: dict[str, Any] = {}

    def __call__(self, words: Sequence[str]):
        import numpy as np  # lazy, like every heavy import

        todo = list(dict.fromkeys(w for w in words if w not in self._cache))
        if todo:
            vecs = np.asarray(self.encode(todo), dtype=np.float32)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-8)
            if len(self._cache) + len(todo) > self.size:
                self._cache.clear()  # crude, but a full cache only happens on a huge corpus
            self._cache.update(zip(todo, vecs, strict=True))
        if not words:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[w] for w in words])


def similarity(question_words: Sequence[str], sentence_words: Sequence[str], vectors: WordVectors):
    """Cosines, one row per question word and one column per sentence word."""
    import numpy as np

    if not question_words or not sentence_words:
        return np.zeros((len(question_words), len(sentence_words)), dtype=np.float32)
    return vectors(list(question_words)) @ vectors(list(sentence_words)).T


def best_match(sim, columns: Sequence[int] | None = None) -> list[float]:
    """For each question word (row), its best cosine among the given sentence words (columns;
    all when None); 0.0 where there is none. Pure."""
    cols = range(sim.shape[1]) if columns is None else columns
    return [max((float(sim[r, c]) for c in cols), default=0.0) for r in range(sim.shape[0])]
