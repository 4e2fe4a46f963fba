"""BM25 over language-aware terms (rag.text.analyze), persisted beside the vectors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from rag.text import analyze


class LexicalIndex:
    def __init__(self, bm25, languages: list[str]):
        self._bm25 = bm25
        self.languages = languages  # the analysers a query must be run through

    @classmethod
    def build(cls, texts: list[str], languages: list[str]) -> "LexicalIndex":
        import bm25s

        # Two passes: the words of the corpus first, so compounds can be split into them.
        vocabulary = {t for text, lang in zip(texts, languages) for t in analyze(text, lang)}
        bm25 = bm25s.BM25()
        bm25.index([analyze(t, lang, known=vocabulary.__contains__) for t, lang in zip(texts, languages)],
                   show_progress=False)
        return cls(bm25, sorted(set(languages)))

    def query_terms(self, query: str) -> list[str]:
        terms: list[str] = []
        for lang in self.languages:
            terms.extend(t for t in analyze(query, lang, all_stopwords=True, known=self.knows) if t not in terms)
        return terms

    def knows(self, term: str) -> bool:
        return term in self._bm25.vocab_dict

    @property
    def n_docs(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def doc_freq(self, term: str) -> int:
        """Number of chunks containing the term (0 when the corpus does not know it)."""
        i = self._bm25.vocab_dict.get(term)
        if i is None:
            return 0
        indptr = self._bm25.scores["indptr"]  # CSC over terms: one column per term
        return int(indptr[i + 1] - indptr[i])

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency; highest for a term the corpus does not know."""
        df = self.doc_freq(term)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk, in chunk order."""
        terms = self.query_terms(query)
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)
        (directory / "languages.json").write_text(json.dumps(self.languages))

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        return cls(bm25, json.loads((directory / "languages.json").read_text()))
