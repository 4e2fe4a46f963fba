"""Dense + lexical search over an Index, and their fusion into one ranking of Hits.

Fusion (measured in scripts/bench_retrieval.py; see README):
- dense evidence for a chunk is its cosine similarity plus that of its best sentence, so a
  long chunk with one matching sentence is not drowned by the rest of it;
- both score lists are z-normalised over the candidates, then added, BM25 weighted by how
  much of the question the corpus knows (IDF-weighted share of its terms found in the
  vocabulary) and halved when the question is in another language than the corpus: an
  English question over German text shares only names with it, and BM25 then ranks noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.index.embedders import Embedder
from rag.index.lexical import top_n
from rag.index.store import Index
from rag.lang.text import detect_language
from rag.types import Hit, Query

RETRIEVERS = ("hybrid", "dense", "lexical")
LEXICAL_WEIGHT = 1.3
CROSS_LINGUAL_FACTOR = 0.5
ALL_CANDIDATES_UP_TO = 5000  # above this many chunks, fuse over the top of each list only
CANDIDATES_PER_LIST = 200
# Above this many chunks the fused dense score is the chunk's similarity twice, not plus its
# best sentence's: so it was when large indexes kept no sentence vectors, and on the
# 93,593-chunk synthetic corpus (scripts/bench.py) adding the best sentence lowered the share
# of XQuAD questions with the answer in the top 5 from 0.935 to 0.910. The sentences' own
# similarities, which the answer stage reads, come from the stored vectors at every size.
SENTENCE_FUSION_UP_TO = 20_000


def zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


class Retriever:
    def __init__(self, index: Index, embedder: Embedder):
        self.index = index
        self.embedder = embedder

    def dense_scores(self, qvec: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, cosine similarities), best first; all chunks unless limit is given."""
        n = self.index.vectors.ntotal
        return self.index.search(qvec, min(n, limit or n))

    def sentence_scores(self, qvec: np.ndarray, chunk_ids: np.ndarray) -> list[np.ndarray]:
        """Cosine similarity of every sentence of each given chunk to the question."""
        sims, bounds = self._sentence_sims(qvec, chunk_ids)
        return [sims[bounds[j] : bounds[j + 1]] for j in range(len(chunk_ids))]

    def _sentence_sims(self, qvec: np.ndarray, chunk_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentences' similarities of the given chunks, one flat array, and bounds:
        chunk j's are sims[bounds[j]:bounds[j + 1]]. Index arithmetic, no loop per chunk."""
        off = self.index.unit_offsets
        ids = np.asarray(chunk_ids, dtype=np.int64)
        starts = np.asarray(off[ids], dtype=np.int64)
        lengths = np.asarray(off[ids + 1], dtype=np.int64) - starts
        bounds = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        rows = np.repeat(starts - bounds[:-1], lengths) + np.arange(bounds[-1])
        if self.index.unit_vectors is None:  # the index keeps no sentence vectors: embed them now
            texts: list[str] = []
            for i in ids:
                c = self.index.chunks[int(i)]
                texts.extend(c.text[s - c.start : e - c.start] for s, e in self.index.units[off[i] : off[i + 1]])
            sims = self.embedder.encode(texts) @ qvec if texts else np.zeros(0, np.float32)
        elif len(ids) == len(self.index.chunks):  # one product over all sentences
            sims = (self.index.unit_matrix @ qvec)[rows]
        else:
            sims = self.index.sentence_sims(rows, qvec)
        return sims, bounds

    def query(self, question: str) -> Query:
        """The question as retrieval reads it (the answer stage builds it once, beside its
        own analysis of the question, and passes it down)."""
        return Query(question, detect_language(question), tuple(self.index.lexical.query_terms(question)))

    def lexical_weight(self, query: Query | str) -> float:
        query = self.query(query) if isinstance(query, str) else query
        lex = self.index.lexical
        idf = [lex.idf(t) for t in query.terms]
        total = sum(idf)
        known = sum(w for t, w in zip(query.terms, idf) if lex.knows(t)) / total if total else 0.0
        same_language = query.lang in lex.languages
        return LEXICAL_WEIGHT * known * (1.0 if same_language else CROSS_LINGUAL_FACTOR)

    def search(self, query: Query | str, k: int, mode: str = "hybrid", qvec: np.ndarray | None = None) -> list[Hit]:
        """The k best chunks for a Query (or a question, analysed here). qvec: the
        question's embedding, when the caller has it already."""
        if mode not in RETRIEVERS:
            raise ValueError(f"unknown retriever {mode!r}")
        query = self.query(query) if isinstance(query, str) else query
        n = len(self.index.chunks)
        if mode == "lexical":
            bm25 = self.index.lexical.term_scores(query.terms)
            ids = top_n(bm25, k)
            return self._hits(ids, bm25[ids], None, bm25[ids], qvec)
        if qvec is None:
            qvec = self.embedder.encode([query.text])[0]
        lexical_all = self.index.lexical.term_scores(query.terms) if mode != "dense" else None

        if n <= ALL_CANDIDATES_UP_TO:
            ids, dense = self.dense_scores(qvec)
        else:
            ids, dense = self.dense_scores(qvec, CANDIDATES_PER_LIST)
            if lexical_all is not None:
                extra = top_n(lexical_all, CANDIDATES_PER_LIST)
                extra = extra[~np.isin(extra, ids)]
                ids = np.concatenate([ids, extra])
                dense = np.concatenate([dense, self._cosines(qvec, extra)])
        sentences = None
        semantic: np.ndarray
        if self.index.unit_vectors is not None and n <= SENTENCE_FUSION_UP_TO:
            sims, bounds = self._sentence_sims(qvec, ids)
            best = dense.astype(np.float32)  # a chunk without sentences counts its own similarity
            some = bounds[1:] > bounds[:-1]
            if some.any():
                best[some] = np.maximum.reduceat(sims, bounds[:-1][some])
            semantic = dense + best
            sentences = (sims, bounds)
        else:  # the chunk's own similarity, twice, keeps the fused scale
            semantic = 2 * dense
        if lexical_all is None:  # mode "dense"
            fused = semantic
            lexical = None
        else:
            lexical = lexical_all[ids]
            fused = zscore(semantic) + self.lexical_weight(query) * zscore(lexical)
        order = np.argsort(-fused, kind="stable")[:k]
        return self._hits(
            ids[order],
            fused[order],
            dense[order],
            None if lexical is None else lexical[order],
            qvec,
            None if sentences is None else [sentences[0][sentences[1][i] : sentences[1][i + 1]] for i in order],
        )

    def _cosines(self, qvec: np.ndarray, ids: np.ndarray) -> np.ndarray:
        return (self.index.chunk_vectors(ids) @ qvec).astype(np.float32)

    def _hits(
        self,
        ids: np.ndarray,
        scores: np.ndarray,
        dense: np.ndarray | None,
        lexical: np.ndarray | None,
        qvec: np.ndarray | None,
        sentences: list[np.ndarray] | None = None,
    ) -> list[Hit]:
        per_chunk: Sequence[np.ndarray | None]
        if sentences is not None:
            per_chunk = sentences
        else:  # without a question vector (lexical search) sentences score 0
            per_chunk = self.sentence_scores(qvec, ids) if qvec is not None else [None] * len(ids)
        hits = []
        off, units = self.index.unit_offsets, self.index.units
        for j, i in enumerate(ids):
            sims = per_chunk[j]
            spans = units[off[i] : off[i + 1]]
            sents = tuple(
                (int(s), int(e), float(sims[u]) if sims is not None else 0.0) for u, (s, e) in enumerate(spans)
            )
            hits.append(
                Hit(
                    self.index.chunks[i],
                    float(scores[j]),
                    None if dense is None else float(dense[j]),
                    None if lexical is None else float(lexical[j]),
                    sents,
                )
            )
        return hits
