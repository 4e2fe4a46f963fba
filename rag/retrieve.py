"""Dense + lexical search over an Index, and their fusion into one ranking of Hits."""

from __future__ import annotations

import numpy as np

from rag.embedders import Embedder
from rag.store import Index
from rag.types import Hit

RETRIEVERS = ("hybrid", "dense", "lexical")


class Retriever:
    def __init__(self, index: Index, embedder: Embedder):
        self.index = index
        self.embedder = embedder

    def dense_scores(self, qvec: np.ndarray) -> np.ndarray:
        n = self.index.vectors.ntotal
        scores, ids = self.index.vectors.search(qvec.reshape(1, -1), n)
        out = np.full(n, -1.0, dtype=np.float32)
        out[ids[0][ids[0] >= 0]] = scores[0][ids[0] >= 0]
        return out

    def search(self, question: str, k: int, mode: str = "hybrid", qvec: np.ndarray | None = None) -> list[Hit]:
        """The k best chunks. qvec: the question's embedding, when the caller has it already."""
        if mode not in RETRIEVERS:
            raise ValueError(f"unknown retriever {mode!r}")
        chunks = self.index.chunks
        if mode != "lexical" and qvec is None:
            qvec = self.embedder.encode([question])[0]
        dense = self.dense_scores(qvec) if mode != "lexical" else None
        lexical = self.index.lexical.scores(question) if mode != "dense" else None
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = fuse(dense, lexical, self.lexical_weight(question))
        order = np.argsort(-fused, kind="stable")[:k]
        return [Hit(chunks[i], float(fused[i]),
                    None if dense is None else float(dense[i]),
                    None if lexical is None else float(lexical[i])) for i in order]

    def lexical_weight(self, question: str) -> float:
        """How far to trust BM25 for this question: the share of its terms the corpus
        knows. An English question over German text shares few terms with it, and BM25
        then ranks noise; a German one shares most."""
        terms = self.index.lexical.query_terms(question)
        if not terms:
            return 0.0
        known = sum(self.index.lexical.knows(t) for t in terms)
        return 0.5 * known / len(terms)


def fuse(dense: np.ndarray, lexical: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Convex combination of cosine similarity and max-normalised BM25."""
    top = float(lexical.max()) if lexical.size else 0.0
    lex = lexical / top if top > 0 else np.zeros_like(lexical)
    return (1.0 - lexical_weight) * dense + lexical_weight * lex
