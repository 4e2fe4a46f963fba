"""The reader: one learned scorer over (evidence sentence, candidate short answer) pairs.

For the best few evidence sentences, every candidate short answer (candidates.py) of a kind
that can answer the question is a pair; each pair gets a row of features and a linear
scorer (a conditional logit fitted by scripts/train_reader.py to rank each question's pairs,
Platt-scaled; shipped as reader.json) gives the probability that the candidate is the answer.
A second, small regression over the best pair's probability and the question's match with the
evidence (and with the clause that holds the best pair's candidate) decides whether to answer
at all. When answering, the best RERANK distinct answers are reordered by the scorer's
log-odds together with the model's likelihood of each as its copy (rerank); the chosen pair's
sentence is the quote, its candidate the short answer. Applied with numpy only.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.candidates import KINDS, AnswerCandidate, candidates, compatible
from rag.answer.evidence import Candidate
from rag.answer.extract import Extracted
from rag.answer.question import Question
from rag.answer.spans import rank_spans
from rag.lang.lexicon import ARTICLES, YEAR, both
from rag.lang.tagger import Token, tag
from rag.lang.text import analyze, detect_language, fold, numbers

if TYPE_CHECKING:
    import numpy as np

_ARTICLES = frozenset(both(ARTICLES))
_QUOTES = frozenset('„“”"»«‚‘')

READER = Path(__file__).with_name("reader.json")

# evidence sentences read: 8 raised the any-pair ceiling (XQuAD-de 0.595 -> 0.608) but
# lowered top-1 EM (0.272 -> 0.261), cross-validated by scripts/train_reader.py
SENTENCES = 5
# ...of the best POOL evidence sentences that hold a candidate of the asked kind: the best
# sentence for "Wie viele Mitarbeiter hat Scale AI?" talks of freelancers and holds no number
POOL = 12  # 5 vs 12 measured by rag eval on the dev sets (closing note of #14)
FAR = 20  # token distance counted as "nowhere near the question's words" (and the cap)
LONG = 10  # candidate length in tokens at which longer stops mattering

QUESTION_KINDS = ("number", "time", "place", "person", "name", "other")

POS_SHARES = ("NE", "NN", "CARD", "ADJA")  # the share of a candidate's tokens with each tag is a feature

# The features, in the order reader.json lists them (train_reader.py fits exactly these).
FEATURES = (
    "dense",
    "overlap",
    "context",
    "rank",
    "evidence",
    "top",
    "sentence_rank",
    "unknown",
    "compatible",
    *(f"kind_{k}" for k in KINDS),
    *(f"asked_{k}" for k in QUESTION_KINDS),
    "typed",
    "span",
    "span_match",
    "head_asked",
    "distance",
    "near",
    "question_share",
    "length",
    "position",
    # the noun the question names its answer by (question.focus_word): the candidate is one
    # ("Zwillingsprimzahlen-Vermutung" for "Welche Vermutung"), stands next to one ("24
    # Interceptions" for "Wie viele Interceptions"), or its sentence has one
    "has_focus",
    "focus_head",
    "focus_near",
    "focus_sentence",
    # a number that counts the focus ("900 Mitarbeiter" for "wie viele Mitarbeiter"), or
    # another noun ("13 Milliarden Annotationen")
    "counts_focus",
    "counts_other",
    # boundaries: a candidate inside a longer one ("Zweiten" in "Zweiten Weltkrieg"), one
    # holding shorter ones, a noun right after it, one or two characters, ending in an adjective
    "nested",
    "outer",
    "next_noun",
    "tiny",
    "ends_adjective",
    "in_question",
    "window",
    *(f"pos_{p}" for p in POS_SHARES),
    # its shape: a list ("Traditionen, Bräuche"), joined by a preposition ("Edikt von
    # Fontainebleau"), with a parenthesis ("Service (ARTS)"), quoted („Mork vom Ork“)
    "has_comma",
    "has_conjunction",
    "has_preposition",
    "has_parenthesis",
    "quoted",
    *(f"match_{q}_{k}" for q in QUESTION_KINDS for k in KINDS),
    # the model's copied answer (extract.py) from the best evidence sentence: the candidate is
    # in that sentence, is the copied span, lies inside it or holds it, and how many words
    # the two share
    "gen_sentence",
    "gen_span",
    "gen_inside",
    "gen_covers",
    "gen_f1",
)

WINDOW = 4  # tokens either side of a candidate whose question words count for "window"
CLAUSE_MIN = 3  # words: a shorter piece ("(ARTS)", "sagte er") belongs to the clause before it

# The scorer's best few distinct answers are reordered by the model's likelihood of each as its
# copy (extract.answer_logprob): the right answer is among the best 3 for 0.42 of XQuAD-de
# questions and first for 0.29 (out of fold, scripts/train_reader.py).
RERANK = 3
RERANK_FEATURES = ("logit", "logprob", "logprob_token")


@dataclass(frozen=True)
class Pair:
    sentence: Candidate  # the evidence sentence
    candidate: AnswerCandidate
    features: dict[str, float] = field(compare=False)


def _question_tokens(toks: Sequence[Token], question: Question) -> list[frozenset[str]]:
    """The question terms each token of the sentence is (an analysed form of)."""
    terms = set(question.terms)
    return [frozenset(terms & (set(analyze(t.text, "de")) | set(analyze(t.text, "en")))) for t in toks]


def candidate_features(
    question: Question,
    cand: AnswerCandidate,
    toks: Sequence[Token],
    asked: Sequence[frozenset[str]],
    sentence_len: int,
    span: tuple[int, int] | None = None,
) -> dict[str, float]:
    """Features of one candidate inside its sentence: kind, fit to the question's kind, how
    near it stands to the question's words, how much of it only repeats the question, length,
    and whether it overlaps `span` (document offsets of the span of the asked kind that
    spans.rank_spans would have picked in this sentence)."""
    inside = [i for i, t in enumerate(toks) if t.start >= cand.start and t.end <= cand.end]
    if not inside:
        inside = [min(range(len(toks)), key=lambda i: abs(toks[i].start - cand.start))] if toks else []
    outside = [j for j, a in enumerate(asked) if a and j not in inside]
    if inside and outside:
        distance = min(abs(i - j) for i in (inside[0], inside[-1]) for j in outside)
    else:
        distance = FAR
    share = sum(bool(asked[i]) for i in inside) / len(inside) if inside else 0.0
    first = toks[0].start if toks else cand.start
    out = {f"kind_{k}": float(cand.kind == k) for k in KINDS}
    out[f"match_{question.kind}_{cand.kind}"] = 1.0
    out.update(_boundary_features(question, cand, toks, inside, asked))
    out.update(
        {
            "compatible": float(compatible(question.kind, cand)),
            "span_match": float(span is not None and cand.start < span[1] and cand.end > span[0]),
            "head_asked": float(question.asks_about(cand.head_lemma)),
            "distance": min(distance, FAR) / FAR,
            "near": float(distance <= 3),
            "question_share": share,
            "length": min(len(inside), LONG) / LONG,
            "position": (cand.start - first) / max(sentence_len, 1),
        }
    )
    return out


def _is_focus(tok: Token, focus: Sequence[str]) -> bool:
    """Is the token the question's focus noun, or a compound ending in it ("Fundamentalsatz" for "Satz")?"""
    if not focus:
        return False
    forms = set(analyze(tok.text, "de")) | set(analyze(tok.text, "en"))
    folded = fold(tok.text)
    return bool(forms & set(focus)) or any(len(f) >= 4 and folded.endswith(f) for f in focus)


def _boundary_features(
    question: Question, cand: AnswerCandidate, toks: Sequence[Token], inside: list[int], asked: Sequence[frozenset[str]]
) -> dict[str, float]:
    focus = question.focus
    lo, hi = (inside[0], inside[-1]) if inside else (0, -1)
    around = [j for j in range(max(lo - 2, 0), min(hi + 3, len(toks))) if j < lo or j > hi]
    weights = question.terms
    total = sum(weights.values()) or 1.0
    near_terms: set[str] = set()
    for j in range(max(lo - WINDOW, 0), min(hi + WINDOW + 1, len(toks))):
        if j < lo or j > hi:
            near_terms |= asked[j]
    inner = [toks[i] for i in inside]
    counted = inner[-1] if inner and inner[-1].pos == "NN" else None
    if counted is None and hi + 1 < len(toks) and toks[hi + 1].pos == "NN":
        counted = toks[hi + 1]
    return {
        "counts_focus": float(cand.kind == "number" and counted is not None and _is_focus(counted, focus)),
        "counts_other": float(
            cand.kind == "number" and bool(focus) and counted is not None and not _is_focus(counted, focus)
        ),
        "has_focus": float(bool(focus)),
        "focus_head": float(any(_is_focus(t, focus) for t in inner[-1:])),
        "focus_near": float(any(_is_focus(toks[j], focus) for j in around)),
        "focus_sentence": float(any(_is_focus(t, focus) for t in toks)),
        "next_noun": float(hi + 1 < len(toks) and toks[hi + 1].pos in ("NN", "NE")),
        "tiny": float(len(cand.text.strip()) <= 2),
        "ends_adjective": float(bool(inner) and inner[-1].pos == "ADJA"),
        "in_question": float(fold(cand.text) in fold(question.text)),
        "window": sum(weights.get(t, 0.0) for t in near_terms) / total,
        "has_comma": float(any(t.text == "," for t in inner)),
        "has_conjunction": float(any(t.pos == "KON" for t in inner)),
        "has_preposition": float(any(t.pos.startswith("APPR") for t in inner)),
        "has_parenthesis": float(any(t.text == "(" for t in inner)),
        "quoted": float(
            0 < lo and hi + 1 < len(toks) and toks[lo - 1].text in _QUOTES and toks[hi + 1].text in _QUOTES
        ),
        **{f"pos_{p}": sum(t.pos == p for t in inner) / max(len(inner), 1) for p in POS_SHARES},
    }


def _finite(pos: str) -> bool:
    return pos.endswith("FIN") or pos.startswith("XV")  # STTS finite verbs; the tagger's English verbs


def clauses(toks: Sequence[Token]) -> list[tuple[int, int]]:
    """Token ranges [i, j) of a sentence's clauses: cut at punctuation, and at a conjunction
    before a finite verb ("... 900 Mitarbeiter | und hat ..."), not one that joins names
    ("Wang und Lucy Guo"); a piece of fewer than CLAUSE_MIN words joins the clause before it
    (the first one, the clause after it)."""
    cuts = [0]
    for i in range(1, len(toks)):
        pos = toks[i].pos
        if pos.startswith("$") or (pos == "KON" and i + 1 < len(toks) and _finite(toks[i + 1].pos)):
            cuts.append(i)
    cuts.append(len(toks))

    def words(a: int, b: int) -> int:
        return sum(not toks[k].pos.startswith("$") for k in range(a, b))

    out: list[tuple[int, int]] = []
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        if out and (words(a, b) < CLAUSE_MIN or words(*out[-1]) < CLAUSE_MIN):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def clause_of(spans: Sequence[tuple[int, int]], toks: Sequence[Token], start: int) -> int:
    """Which of the clauses holds the token at document offset `start` (the last one before it)."""
    return max((k for k, (a, _) in enumerate(spans) if toks[a].start <= start), default=0)


def similarity_to(embed: Callable[[list[str]], np.ndarray], vec: np.ndarray) -> Callable[[list[str]], list[float]]:
    """Texts -> each one's similarity to `vec`, by the embedder that made it (unit vectors): on
    the scale of a sentence's dense, which the index's embedder measured against the question."""
    return lambda texts: [float(v) for v in embed(texts) @ vec] if texts else []


def sentence_features(sentence: Candidate, rank: int, top_score: float) -> dict[str, float]:
    return {
        "dense": sentence.dense,
        "overlap": sentence.overlap,
        "context": sentence.context,
        "rank": sentence.rank_score,
        "evidence": sentence.score - top_score,  # relative: scores are on no fixed scale
        "top": float(rank == 0),
        "sentence_rank": rank / SENTENCES,
        "typed": sentence.typed,
        "span": sentence.span,
    }


def _words(text: str) -> list[str]:
    return [w for w in fold(text).split() if w not in _ARTICLES and any(c.isalnum() for c in w)]


def _f1(a: str, b: str) -> float:
    x, y = _words(a), _words(b)
    common = sum((Counter(x) & Counter(y)).values())
    return 0.0 if not common else 2 * common / (len(x) + len(y))


def generated_features(
    cand: AnswerCandidate, sentence: Candidate, got: Extracted | None, read: Candidate | None
) -> dict[str, float]:
    """How the candidate relates to the model's copied answer `got` from sentence `read`."""
    if got is None or read is None or not _same(sentence, read):
        return {}
    out = {"gen_sentence": 1.0, "gen_f1": _f1(cand.text, got.text)}
    if got.start is not None and got.end is not None:
        out["gen_span"] = float((cand.start, cand.end) == (got.start, got.end))
        out["gen_inside"] = float(got.start <= cand.start and cand.end <= got.end)
        out["gen_covers"] = float(cand.start <= got.start and got.end <= cand.end)
    return out


def with_generated(found: list[AnswerCandidate], got: Extracted | None, toks: Sequence[Token]) -> list[AnswerCandidate]:
    """The tagged candidates, and the model's copied span where none has its bounds."""
    if got is None or got.start is None or got.end is None:
        return found
    if any((c.start, c.end) == (got.start, got.end) for c in found):
        return found
    head = next((t.lemma for t in reversed(toks) if t.end <= got.end), got.text)
    return [*found, AnswerCandidate(got.text, got.start, got.end, "span", head)]


def question_names(question: Question) -> tuple[str, ...]:
    """What the question names: its proper names and numbers ("Meta", "2019"), and in English
    every capitalised word after the first ("Adept", which the tagger misses). A near miss asks
    what the sources say of one company or year about another: its evidence lacks the name."""
    toks = tag(question.text, 0, question.lang)
    return tuple(
        dict.fromkeys(
            t.text
            for i, t in enumerate(toks)
            if t.pos in ("NE", "CARD") or (question.lang == "en" and i > 0 and t.text[:1].isupper())
        )
    )


def _stem(name: str) -> str:
    """A name without its genitive ("Wangs", "Wang's" -> "Wang"): what a text has of it."""
    name = re.sub(r"['’]s$", "", name)
    return name[:-1] if len(name) > 3 and name.endswith("s") else name


def names_missing(names: Sequence[str], text: str) -> float:
    """The share of the names that text lacks (a name counts at the start of a word, in any
    case: "Wangs" in the question, "Wang" in the text); 0.0 without names."""
    if not names:
        return 0.0
    folded = fold(text)
    return sum(not re.search(rf"(?<!\w){re.escape(fold(_stem(n)))}", folded) for n in names) / len(names)


def years_missing(question: Question, text: str) -> float:
    """The share of the years the question asks about that text lacks ("Umsatz im Jahr 2019"
    and a chunk without 2019); 0.0 when it asks about none."""
    years = {n for n in question.numbers if YEAR.fullmatch(n)}
    return len(years - numbers(text)) / len(years) if years else 0.0


def pairs(
    question: Question,
    sentences: Sequence[Candidate],
    unknown_terms: int = 0,
    n: int = SENTENCES,
    generated: Extracted | None = None,
    pool: int = POOL,
    similarity: Callable[[list[str]], Sequence[float]] | None = None,
) -> list[Pair]:
    """Every (sentence, candidate) pair of the best n evidence sentences whose candidate can
    answer the question (a candidate of the wrong kind never becomes the answer); with a
    pool larger than n, the best n of the best `pool` sentences that hold such a candidate.
    unknown_terms: question terms the corpus does not know at all (a sign it lacks the fact).
    generated: the model's copied answer from the best sentence (sentences[0]), if any.
    similarity: texts -> each one's similarity to the question (similarity_to), which weighs
    each candidate's clause, for the abstention; without it, clauses are not weighed."""
    out: list[Pair] = []
    if not sentences:
        return out
    top_score = sentences[0].score
    asked_kind = {f"asked_{k}": float(question.kind == k) for k in QUESTION_KINDS}
    asked_kind["unknown"] = min(unknown_terms, 2) / 2
    names = question_names(question)
    read = 0
    for rank, s in enumerate(sentences[:pool]):
        if read == n:
            break
        lang = detect_language(s.chunk_text or s.text)  # a short sentence alone is often misread
        toks = tag(s.text, s.start, lang)
        every = candidates(s.text, s.start, lang)
        if rank == 0:
            every = with_generated(every, generated, toks)
        found = [c for c in every if compatible(question.kind, c)]
        if not found:
            continue  # nothing here can answer: read the next sentence instead
        read += 1
        asked = _question_tokens(toks, question)
        base = {**sentence_features(s, min(rank, n - 1), top_score), **asked_kind}
        # for the abstention only (not in FEATURES): the question's names the sentence lacks,
        # and the chunk around it, and the years the chunk lacks
        base["names_sentence"] = names_missing(names, s.text)
        base["names_chunk"] = names_missing(names, s.chunk_text or s.text)
        base["years_chunk"] = years_missing(question, s.chunk_text or s.text)
        spans = rank_spans(question.kind, set(question.terms), [(0, s.text, 0.0)], question.unit)
        span = (s.start + spans[0].span.start, s.start + spans[0].span.end) if spans else None
        parts: list[tuple[int, int]] = []
        sims: Sequence[float] = []
        if similarity is not None and toks:
            parts = clauses(toks)
            sims = similarity([s.text[toks[a].start - s.start : toks[b - 1].end - s.start] for a, b in parts])
        for c in found:
            feats = {**base, **candidate_features(question, c, toks, asked, len(s.text), span)}
            if parts:  # for the abstention only (not in FEATURES), as the names above
                feats["clause_dense"] = sims[clause_of(parts, toks, c.start)]
            feats["nested"] = float(any(o.start <= c.start and o.end >= c.end and o != c for o in every))
            feats["outer"] = float(any(c.start <= o.start and c.end >= o.end and o != c for o in every))
            feats.update(generated_features(c, s, generated, sentences[0]))
            out.append(Pair(s, c, feats))
    return out


# What the abstention model reads of a question: the best pair's probability (also as a
# log: small differences near 0 matter), the question terms the corpus does not know, how well
# the best evidence sentence and the chosen pair's sentence match the question, how much of
# the question stands around the chosen candidate, how far down the evidence it stands,
# whether the best sentence holds a thing of the asked kind, and whether the model copied a span.
ABSTAIN_FEATURES = (
    "best",
    "log_best",
    "unknown",
    "overlap",
    "context",
    "dense",
    "has_pair",
    "copied",
    "chosen_overlap",
    "chosen_context",
    "chosen_window",
    "chosen_rank",
    "chosen_evidence",
    "top_typed",
    "chosen_clause",
    "names_sentence",
    "names_chunk",
    "years_chunk",
)


def question_features(
    best: float,
    unknown_terms: int,
    top: Candidate | None,
    chosen: Mapping[str, float] | None,
    copied: bool = False,
) -> dict[str, float]:
    """chosen: the features of the best pair (None: no pair); copied: the model's answer is a
    span of the best evidence sentence (extract.py)."""
    picked = chosen or {}
    return {
        "best": best,
        "log_best": math.log(best + 1e-4),
        "unknown": min(unknown_terms, 2) / 2,
        "overlap": top.overlap if top else 0.0,
        "context": top.context if top else 0.0,
        "dense": top.dense if top else 0.0,
        "has_pair": float(chosen is not None),
        "copied": float(copied),
        "chosen_overlap": picked.get("overlap", 0.0),
        "chosen_context": picked.get("context", 0.0),
        "chosen_window": picked.get("window", 0.0),
        "chosen_rank": picked.get("sentence_rank", 1.0),
        "chosen_evidence": picked.get("evidence", -1.0),
        # the best sentence holds a thing of the asked kind ("wie viel": a number)
        "top_typed": top.typed if top else 0.0,
        # how well the clause that holds the chosen candidate matches the question: a long
        # sentence states several facts ("Das Unternehmen mit Sitz in San Francisco beschäftigt
        # 900 Mitarbeiter | und hat 1,35 Milliarden Dollar erhalten")
        "chosen_clause": picked.get("clause_dense", 0.0),
        # the chosen sentence, and its chunk, lack names of the question ("Meta" in "Wie viele
        # Mitarbeiter beschäftigt Meta?" for a sentence on Scale AI's staff)
        "names_sentence": picked.get("names_sentence", 1.0),
        "names_chunk": picked.get("names_chunk", 1.0),
        # ...and the years it asks about that the chosen chunk lacks (policy.judge_evidence
        # withholds the answer when it lacks them all)
        "years_chunk": picked.get("years_chunk", 0.0),
    }


def whole_name(chosen: Pair, found: Sequence[Pair]) -> Pair:
    """A surname alone ("Droege") becomes the person's full name when its sentence gives one
    ("Jason Droege"). The two score within a hair of each other, so which one won changed with
    the model's copy, and that changed with the CPU's floating point; the full name is the
    answer a reader expects either way."""
    c = chosen.candidate
    if c.kind not in ("name", "person") or " " in c.text:
        return chosen
    for p in found:
        o = p.candidate
        if (
            p.sentence is chosen.sentence
            and o.kind == "person"
            and o.end == c.end
            and o.start < c.start
            and len(o.text.split()) == 2
        ):
            return p
    return chosen


def shortlist(
    texts: Sequence[str], probs: Sequence[float], n: int = RERANK, eligible: Sequence[bool] | None = None
) -> list[int]:
    """Indices of the n most probable answers with distinct words (the same words from two
    sentences are one answer: the more probable pair stands for it), most probable first.
    eligible: which pairs may join the most probable one (None: all)."""
    out: list[int] = []
    seen: set[str] = set()
    for i in sorted(range(len(texts)), key=lambda i: -probs[i]):
        key = " ".join(fold(texts[i]).split())
        if out and eligible is not None and not eligible[i]:
            continue
        if key not in seen:
            seen.add(key)
            out.append(i)
            if len(out) == n:
                break
    return out


def _same(a: Candidate, b: Candidate) -> bool:
    return (a.source, a.start) == (b.source, b.start)


def rerank_features(probability: float, logprob: float, tokens: int) -> dict[str, float]:
    """What the rerank weighs: the scorer's log-odds, and the model's log-probability of the
    answer, in all and per token."""
    p = min(max(probability, 1e-9), 1 - 1e-9)
    return {"logit": math.log(p / (1 - p)), "logprob": logprob, "logprob_token": logprob / max(tokens, 1)}


def _logistic(coef: dict[str, float], intercept: float, feats: dict[str, float]) -> float:
    z = intercept + sum(w * feats.get(name, 0.0) for name, w in coef.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass(frozen=True)
class Reader:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    # abstention: a second regression over question_features predicts whether the question
    # is answerable from the evidence; below `threshold` the answer is withheld
    abstain_coef: dict[str, float]
    abstain_intercept: float
    threshold: float
    fit: dict = field(default_factory=dict, compare=False)  # how and on what it was fitted
    # weights of rerank_features over the shortlist (none: the scorer's order stands)
    rerank_coef: dict[str, float] = field(default_factory=dict)

    def confidence(
        self,
        best: float,
        unknown_terms: int,
        top: Candidate | None,
        chosen: Mapping[str, float] | None,
        copied: bool = False,
    ) -> float:
        """The probability that the question is answerable from this evidence."""
        feats = question_features(best, unknown_terms, top, chosen, copied)
        return _logistic(self.abstain_coef, self.abstain_intercept, feats)

    def probability(self, feats: dict[str, float]) -> float:
        return _logistic(dict(zip(self.features, self.coef)), self.intercept, feats)

    def probabilities(self, found: Sequence[Pair]) -> list[float]:
        if not found:
            return []
        import numpy as np  # lazy, like every heavy import

        x = np.array([[p.features.get(name, 0.0) for name in self.features] for p in found])
        z = np.clip(x @ np.array(self.coef) + self.intercept, -40.0, 40.0)
        return [float(v) for v in 1.0 / (1.0 + np.exp(-z))]

    def best(self, found: Sequence[Pair], probs: Sequence[float] | None = None) -> tuple[Pair | None, float]:
        """The most probable pair and its probability (None, 0.0 when there is none).
        probs: the pairs' probabilities, when the caller has them already."""
        probs = self.probabilities(found) if probs is None else probs
        if not probs:
            return None, 0.0
        i = max(range(len(probs)), key=probs.__getitem__)
        return whole_name(found[i], found), probs[i]

    def rerank(
        self,
        found: Sequence[Pair],
        likelihood: Callable[[Pair], tuple[float, int]] | None,
        read: Candidate | None = None,
        probs: Sequence[float] | None = None,
    ) -> Pair | None:
        """The answer: of the shortlist, the pair the scorer and the model's likelihood
        (log-probability, tokens) favour together; the scorer's best without a likelihood.
        read: the sentence the model copied from; only its answers join the scorer's best,
        since its prompt is decoded already (answers from other sentences each cost one, and
        gained nothing out of fold: scripts/train_reader.py). probs: as for best()."""
        probs = self.probabilities(found) if probs is None else probs
        eligible = None if read is None else [_same(p.sentence, read) for p in found]
        short = shortlist([p.candidate.text for p in found], probs, eligible=eligible)
        if not short:
            return None
        pick = short[0]
        if likelihood is not None and self.rerank_coef and len(short) > 1:

            def value(i: int) -> float:
                feats = rerank_features(probs[i], *likelihood(found[i]))
                return sum(w * feats[k] for k, w in self.rerank_coef.items())

            pick = max(short, key=value)
        return whole_name(found[pick], found)

    def to_json(self) -> dict:
        return {
            "features": list(self.features),
            "coef": [_written(c) for c in self.coef],
            "intercept": _written(self.intercept),
            "abstain": {
                "coef": {k: _written(v) for k, v in self.abstain_coef.items()},
                "intercept": _written(self.abstain_intercept),
                "threshold": _written(self.threshold),
            },
            "rerank": {k: _written(v) for k, v in self.rerank_coef.items()},
            "fit": self.fit,
        }


def _written(v: float) -> float:
    """Six digits, and 0.0 for what rounds to zero from either side: a weight of ~1e-9 took
    either sign from one refit to the next, and refits are compared byte for byte."""
    return round(v, 6) + 0.0


def load_reader(path: Path = READER) -> Reader:
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    if len(d["features"]) != len(d["coef"]):
        raise ValueError(f"{path}: {len(d['features'])} features but {len(d['coef'])} coefficients")
    abstain = d["abstain"]
    return Reader(
        tuple(d["features"]),
        tuple(float(c) for c in d["coef"]),
        float(d["intercept"]),
        {k: float(v) for k, v in abstain["coef"].items()},
        float(abstain["intercept"]),
        float(abstain["threshold"]),
        d.get("fit", {}),
        {k: float(v) for k, v in d.get("rerank", {}).items()},
    )


@cache
def default_reader() -> Reader:
    """The shipped reader, read once per process."""
    return load_reader()
