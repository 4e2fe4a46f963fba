"""BM25 over language-aware terms (rag.lang.text.analyze), persisted beside the vectors.

The index is the BM25 weight of every term in every chunk, precomputed as a sparse matrix
with one column per term (Lucene's BM25, as bm25s computes it: tests compare the two);
scoring a query sums the query terms' columns. Plain numpy: building takes memory in
proportion to the postings, not to Python lists of tokens, and a question imports neither
bm25s nor scipy (150 ms of a cold start).

On disk every array is its own .npy, opened memory-mapped: a question reads the postings of
its own terms and nothing else, so a million-chunk index is not loaded into memory. The
vocabulary is the sorted 64-bit hashes of the terms (a term's column is its hash's rank),
found by binary search in the mapped array instead of a dict of every word.
"""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.lang.text import analyze

WEIGHTS = "weights.npy"  # float32 BM25 weight of each posting, by term then chunk
DOCS = "docs.npy"  # int32 chunk of each posting
INDPTR = "indptr.npy"  # int64: term t's postings are [indptr[t], indptr[t + 1])
TERMS = "terms.npy"  # uint64 sorted term hashes: term t is the one hashing to terms[t]
META = "meta.json"  # number of chunks, languages

# Postings per block when the columns are filled: bounds the build's temporary arrays.
BLOCK = 4_000_000


def term_hash(term: str) -> int:
    """A stable 64-bit key for a term (Python's hash() differs between processes).
    Two of a few million terms collide with odds of about 1 in 10^6; they would share a column."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")


class LexicalIndex:
    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        n_docs: int,
        terms: np.ndarray,
        languages: list[str],
    ):
        # CSC: the chunks containing term t are indices[indptr[t]:indptr[t+1]], with weights in data
        self.data, self.indices, self.indptr = data, indices, indptr
        self._n_docs = n_docs
        self.terms = terms
        self.languages = languages  # the analysers a query must be run through
        self._column_cache: dict[str, int] = {}

    @classmethod
    def build(
        cls, texts: Iterable[str] | Sequence[str], languages: Sequence[str], k1: float = 1.5, b: float = 0.75
    ) -> LexicalIndex:
        texts = texts if isinstance(texts, Sequence) else list(texts)
        # Two passes: the words of the corpus first, so compounds can be split into them.
        # Each distinct word is analysed once per pass (memo): a corpus repeats its words.
        words: set[str] = set()
        first: dict = {}
        for text, lang in zip(texts, languages):
            words.update(analyze(text, lang, memo=first))
        del first
        second: dict = {}
        vocab: dict[str, int] = {}
        term_ids, tfs = array("i"), array("H")  # 4 + 2 bytes a posting: 100 million at a million chunks
        lengths = np.zeros(len(texts), dtype=np.float32)
        per_doc = np.zeros(len(texts), dtype=np.int64)
        for d, (text, lang) in enumerate(zip(texts, languages)):
            tokens = analyze(text, lang, known=words.__contains__, memo=second)
            lengths[d] = len(tokens)
            counts = Counter(vocab.setdefault(t, len(vocab)) for t in tokens)
            per_doc[d] = len(counts)
            term_ids.extend(counts.keys())
            tfs.extend(min(c, 65535) for c in counts.values())
        del second, words
        n = len(texts)
        # Columns in the order of the terms' hashes, so a term's column is found on disk.
        hashes = np.fromiter((term_hash(t) for t in vocab), dtype=np.uint64, count=len(vocab))
        column_order = np.argsort(hashes, kind="stable")
        column_of = np.empty(len(vocab), dtype=np.int32)
        column_of[column_order] = np.arange(len(vocab), dtype=np.int32)
        del vocab
        term = column_of[np.frombuffer(term_ids, dtype=np.int32)] if len(term_ids) else np.zeros(0, np.int32)
        del term_ids
        tf = np.frombuffer(tfs, dtype=np.uint16) if len(tfs) else np.zeros(0, np.uint16)
        df = np.bincount(term, minlength=len(hashes)).astype(np.int64)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        norm = (k1 * (1.0 - b + b * lengths / avg)).astype(np.float32)  # per chunk
        indptr = np.zeros(len(hashes) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        data = np.zeros(len(term), dtype=np.float32)
        docs = np.zeros(len(term), dtype=np.int32)
        cursor = indptr[:-1].copy()
        doc_end = np.cumsum(per_doc)
        # Fill the columns a block of chunks at a time (chunks in order, so each column's
        # chunks come out ascending): temporary arrays of BLOCK postings, not of all of them.
        start_doc, start = 0, 0
        while start < len(term):
            stop_doc = int(np.searchsorted(doc_end, start + BLOCK, side="right"))
            stop_doc = max(stop_doc, start_doc + 1)
            stop = int(doc_end[stop_doc - 1])
            col = term[start:stop]
            doc = np.repeat(np.arange(start_doc, stop_doc, dtype=np.int32), per_doc[start_doc:stop_doc])
            t = tf[start:stop].astype(np.float32)
            weight = idf[col] * t / (t + norm[doc])
            order = np.argsort(col, kind="stable")
            col, doc, weight = col[order], doc[order], weight[order]
            first_of_run = np.r_[0, np.flatnonzero(np.diff(col)) + 1]
            run_start = np.repeat(first_of_run, np.diff(np.r_[first_of_run, len(col)]))
            pos = cursor[col] + (np.arange(len(col)) - run_start)
            data[pos], docs[pos] = weight, doc
            np.add.at(cursor, col[first_of_run], np.diff(np.r_[first_of_run, len(col)]))
            start_doc, start = stop_doc, stop
        return cls(data, docs, indptr, n, hashes[column_order], sorted(set(languages)))

    def column(self, term: str) -> int | None:
        """The term's column, or None when the corpus does not know it."""
        cached = self._column_cache.get(term)
        if cached is not None:
            return cached if cached >= 0 else None
        h = np.uint64(term_hash(term))
        i = int(np.searchsorted(self.terms, h))
        found = i if i < len(self.terms) and self.terms[i] == h else -1
        if len(self._column_cache) < 100_000:  # questions repeat their words; bounded
            self._column_cache[term] = found
        return found if found >= 0 else None

    def query_terms(self, query: str) -> list[str]:
        terms: list[str] = []
        for lang in self.languages:
            terms.extend(t for t in analyze(query, lang, all_stopwords=True, known=self.knows) if t not in terms)
        return terms

    def knows(self, term: str) -> bool:
        return self.column(term) is not None

    @property
    def n_docs(self) -> int:
        return self._n_docs

    @property
    def postings(self) -> int:
        return len(self.data)

    def doc_freq(self, term: str) -> int:
        """Number of chunks containing the term (0 when the corpus does not know it)."""
        i = self.column(term)
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
            i = self.column(term)
            if i is not None:
                a, b = self.indptr[i], self.indptr[i + 1]
                out[self.indices[a:b]] += self.data[a:b]  # a chunk occurs once per column
        return out

    def save(self, directory: Path) -> None:
        np.save(directory / WEIGHTS, self.data)
        np.save(directory / DOCS, self.indices)
        np.save(directory / INDPTR, self.indptr)
        np.save(directory / TERMS, self.terms)
        (directory / META).write_text(json.dumps({"n_docs": self.n_docs, "languages": self.languages}))

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        meta = json.loads((directory / META).read_text())
        arrays = [np.load(directory / name, mmap_mode="r") for name in (WEIGHTS, DOCS, INDPTR, TERMS)]
        data, docs, indptr, terms = arrays
        if len(indptr) != len(terms) + 1 or len(data) != len(docs) or (len(indptr) and indptr[-1] != len(data)):
            raise ValueError("vocabulary and postings disagree")
        return cls(data, docs, indptr, int(meta["n_docs"]), terms, list(meta["languages"]))


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """np.argsort(-scores, kind="stable")[:n] (the n highest scores, best first, ties in
    index order) without sorting them all: only the scores at or above the n-th highest
    are sorted, found among the positive ones when there are enough of those."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    positive = np.flatnonzero(scores > 0)
    if len(positive) >= n:
        vals = scores[positive]
        kth = np.partition(vals, len(vals) - n)[len(vals) - n]
        candidates = positive[vals >= kth]  # every tie of the n-th too: the sort decides among them
    else:
        kth = np.partition(scores, len(scores) - n)[len(scores) - n]
        candidates = np.flatnonzero(scores >= kth)
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:n]
