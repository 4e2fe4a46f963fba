"""BM25 over language-aware terms (rag.lang.text.analyze), persisted beside the vectors.

The index is the BM25 weight of every term in every chunk, precomputed as a sparse matrix
with one column per term (Lucene's BM25, as bm25s computes it: tests compare the two);
scoring a query sums the query terms' columns. Plain numpy: building takes memory in
proportion to the postings, not to Python lists of tokens, and a question imports neither
bm25s nor scipy (150 ms of a cold start).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from rag.lang.text import analyze

MATRIX = "bm25.npz"
VOCAB = "vocab.json"
LANGUAGES = "languages.json"


class LexicalIndex:
    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        n_docs: int,
        vocab: dict[str, int],
        languages: list[str],
    ):
        # CSC: the chunks containing term t are indices[indptr[t]:indptr[t+1]], with weights in data
        self.data, self.indices, self.indptr = data, indices, indptr
        self._n_docs = n_docs
        self.vocab = vocab
        self.languages = languages  # the analysers a query must be run through

    @classmethod
    def build(cls, texts: list[str], languages: list[str], k1: float = 1.5, b: float = 0.75) -> LexicalIndex:
        from collections import Counter

        # Two passes: the words of the corpus first, so compounds can be split into them.
        words: set[str] = set()
        for text, lang in zip(texts, languages):
            words.update(analyze(text, lang))
        vocab: dict[str, int] = {}
        docs, terms, tfs, lengths = [], [], [], np.zeros(len(texts), dtype=np.float32)
        for d, (text, lang) in enumerate(zip(texts, languages)):
            tokens = analyze(text, lang, known=words.__contains__)
            lengths[d] = len(tokens)
            counts = Counter(vocab.setdefault(t, len(vocab)) for t in tokens)
            docs.append(np.full(len(counts), d, dtype=np.int32))
            terms.append(np.fromiter(counts.keys(), dtype=np.int32, count=len(counts)))
            tfs.append(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        doc = np.concatenate(docs) if docs else np.zeros(0, np.int32)
        term = np.concatenate(terms) if terms else np.zeros(0, np.int32)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        n = len(texts)
        df = np.bincount(term, minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        weight = idf[term] * tf / (tf + k1 * (1.0 - b + b * lengths[doc] / avg))
        order = np.lexsort((doc, term))  # by term, then chunk: one CSC column per term
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=len(vocab)), out=indptr[1:])
        return cls(weight[order].astype(np.float32), doc[order], indptr, n, vocab, sorted(set(languages)))

    def query_terms(self, query: str) -> list[str]:
        terms: list[str] = []
        for lang in self.languages:
            terms.extend(t for t in analyze(query, lang, all_stopwords=True, known=self.knows) if t not in terms)
        return terms

    def knows(self, term: str) -> bool:
        return term in self.vocab

    @property
    def n_docs(self) -> int:
        return self._n_docs

    def doc_freq(self, term: str) -> int:
        """Number of chunks containing the term (0 when the corpus does not know it)."""
        i = self.vocab.get(term)
        return 0 if i is None else int(self.indptr[i + 1] - self.indptr[i])

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency; highest for a term the corpus does not know."""
        df = self.doc_freq(term)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk, in chunk order."""
        return self.term_scores(self.query_terms(query))

    def term_scores(self, terms: list[str] | tuple[str, ...]) -> np.ndarray:
        """BM25 score of every chunk for already analysed query terms (query_terms)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in terms:
            i = self.vocab.get(term)
            if i is not None:
                a, b = self.indptr[i], self.indptr[i + 1]
                out[self.indices[a:b]] += self.data[a:b]  # a chunk occurs once per column
        return out

    def save(self, directory: Path) -> None:
        with open(directory / MATRIX, "wb") as f:
            np.savez(f, data=self.data, indices=self.indices, indptr=self.indptr, n_docs=np.int64(self.n_docs))
        (directory / VOCAB).write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        (directory / LANGUAGES).write_text(json.dumps(self.languages))

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        with np.load(directory / MATRIX) as z:
            data, indices, indptr, n_docs = z["data"], z["indices"], z["indptr"], int(z["n_docs"])
        vocab = json.loads((directory / VOCAB).read_text(encoding="utf-8"))
        languages = json.loads((directory / LANGUAGES).read_text())
        if len(indptr) != len(vocab) + 1:
            raise ValueError("vocabulary and matrix disagree")
        return cls(data, indices, indptr, n_docs, vocab, languages)
