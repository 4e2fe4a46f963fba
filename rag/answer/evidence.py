"""Evidence selection: from retrieved chunks to the few sentences most likely to hold the
answer, numbered [1]..[n] as the model will see them.

A tiny model answers well from one or two good sentences and badly from whole paragraphs,
so the choice of sentences carries much of the answer quality. Each sentence is scored by
its similarity to the question (embedding), the share of the question's terms it contains
(IDF-weighted), and whether it holds the kind of thing asked for (a number for "wie viel",
a name for "wer", a year for "wann").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rag.answer.question import Question
from rag.answer.spans import candidate_spans, rank_spans, strip_question_words
from rag.answer.units import is_evidence, units
from rag.lang.text import analyze, words
from rag.types import Hit, Passage

PASSAGES = 3  # evidence sentences in the prompt, and searched for the answer span
CONFLICT_POOL = 15  # evidence sentences searched for other values of the asked quantity


def type_match(question: Question, sentence: str) -> float:
    """1.0 when the sentence holds a thing of the asked kind besides the question's own words."""
    terms = set(question.terms)
    for span in candidate_spans(question.kind, sentence):
        if strip_question_words(span, sentence, terms) is not None:
            return 1.0
    return 0.0


@dataclass(frozen=True)
class Candidate:
    source: str
    start: int
    end: int
    text: str
    dense: float
    overlap: float  # IDF-weighted share of question terms in the sentence
    typed: float
    rank_score: float  # the rank of its chunk, scaled to [0, 1]
    score: float
    context: float = 0.0  # overlap of the sentence together with the one before it
    chunk_text: str = ""  # the chunk it was found in
    span: float = 0.0  # score of its best span of the asked kind (spans.rank_spans)

    def features(self) -> dict[str, float]:
        """What the evidence weights weigh, by the names tuning.EVIDENCE_FEATURES uses."""
        return {
            "dense": self.dense,
            "overlap": self.overlap,
            "context": self.context,
            "typed": self.typed,
            "span": self.span,
            "rank": self.rank_score,
        }


def term_overlap(question: Question, sentence: str) -> float:
    """IDF-weighted share of the question's terms that occur in the sentence."""
    total = sum(question.terms.values())
    if total <= 0:
        return 0.0
    have = set(analyze(sentence, "de")) | set(analyze(sentence, "en"))
    return sum(w for t, w in question.terms.items() if t in have) / total


@lru_cache(maxsize=8192)
def body_spans(source: str, start: int, text: str) -> tuple[tuple[int, int], ...]:
    """Document offsets of the chunk's sentences that may be quoted (units.is_evidence):
    headings, captions, bylines, furniture and instructions are no evidence."""
    return tuple((u.start + start, u.end + start) for u in units(text, source) if is_evidence(u))


def as_evidence(chunk_source: str, chunk_start: int, chunk_text: str, s: int, e: int) -> tuple[int, int] | None:
    """The part of the sentence [s, e) made of evidence units, or None when it has none."""
    body = [(bs, be) for bs, be in body_spans(chunk_source, chunk_start, chunk_text) if bs < e and be > s]
    if not body:
        return None
    return max(s, min(b[0] for b in body)), min(e, max(b[1] for b in body))


def candidates(question: Question, hits: list[Hit], weights: dict[str, float]) -> list[Candidate]:
    """Every sentence of the retrieved chunks (once, even where chunks overlap), scored.

    Features: similarity to the question (the retriever computed it from vectors stored in
    the index, so nothing is embedded here), the share of the question's terms in the
    sentence and in the sentence with its predecessor ("Ihn ersetzt ..." needs the sentence
    before it to be about Wang), whether it holds a thing of the asked kind and how close
    that thing is to the question's words, and the rank of its chunk. Their weights are
    fitted (tuning.py, scripts/fit.py).
    """
    seen, out = set(), []
    terms = set(question.terms)
    for rank, h in enumerate(hits):
        c = h.chunk
        rank_score = 1.0 - rank / len(hits)
        previous = ""
        for s, e, sim in h.sentences:
            kept = as_evidence(c.source, c.start, c.text, s, e)
            if kept is None:
                continue
            start, end = kept
            text = c.text[start - c.start : end - c.start]
            context = f"{previous} {text}"
            previous = text
            # a question states nothing, and one that repeats the user's question (a planted
            # "Frage: ..." line) would otherwise match it best of all
            if (c.source, start) in seen or len(words(text)) < 3 or text.rstrip("“”\"'»« ").endswith("?"):
                continue
            seen.add((c.source, start))
            ov = term_overlap(question, text)
            ctx = term_overlap(question, context)
            ty = type_match(question, text)
            spans = rank_spans(question.kind, terms, [(0, text, 0.0)], question.unit)
            sp = spans[0].score if spans else 0.0
            found = {"dense": sim, "overlap": ov, "context": ctx, "typed": ty, "span": sp, "rank": rank_score}
            score = sum(w * found[name] for name, w in weights.items())
            out.append(Candidate(c.source, start, end, text, sim, ov, ty, rank_score, score, ctx, c.text, sp))
    out.sort(key=lambda c: -c.score)
    return out


def select(cands: list[Candidate], n: int = 3) -> list[Passage]:
    """The n best sentences as numbered passages [1]..[n], best first."""
    return [Passage(i + 1, c.source, c.start, c.end, c.text, c.score) for i, c in enumerate(cands[:n])]
