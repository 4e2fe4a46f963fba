"""Question -> Answer: retrieve, select evidence, decide whether to answer, answer.

The model is the weakest part of the pipeline, so it is never trusted:
- the answer rests on the best evidence sentence, quoted with its citation; a short answer
  (a number, date, place or name read off the evidence) leads the quote when it is a clear
  choice or the model named it too;
- a model of 1B parameters or more writes the answer itself; its citations are mapped to
  passages that were in the prompt and its facts (numbers, names) must occur in the
  passages it cites, or the quote is given instead;
- the sources disagreeing on an asked quantity is reported with each value's source;
- when the evidence is too weak, the answer says that the sources don't say.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Callable

from rag.answer import evidence, prompts
from rag.answer.citations import parse_citations, renumber, repair_citations, strip_markers
from rag.config import Settings
from rag.errors import UsageError
from rag.answer.evidence import Candidate, term_overlap
from rag.llm.llama import Generation, LocalModel, ModelHandle
from rag.answer.question import Question
from rag.index.retrieve import Retriever
from rag.answer.spans import ScoredSpan, number_spans, quantity, rank_spans, trim_quote
from rag.lang.lexicon import DECLINES, YEAR
from rag.lang.text import detect_language, fold, numbers
from rag.types import Answer, Citation, Hit, Passage

PASSAGES = 3  # evidence sentences in the prompt, and searched for the answer span
CONFLICT_POOL = 15  # evidence sentences searched for other values of the asked quantity
SPAN_MARGIN = 0.1  # how far below the best candidate span the model's choice may rank
CLEAR_MARGIN = 0.1  # a span this far ahead of the next different one is named without the model
QUOTE_WORDS = 35  # longer evidence sentences are cut to the clauses around the answer
TRUSTED_MODEL_PARAMS = 1_000_000_000  # from this size on, a checked free answer is the answer
CONFLICT_CONTEXT = 0.6  # a competing value's sentence matches the question at least this well, relative
CONFLICT_RATIO = 1.25  # ... and the value is of the same magnitude (14,3 vs 14,8: a conflict; 14 vs 29: not)

# Abstention: a linear evidence score. Features, weights and threshold were chosen on dev
# gold sets (seeds, and XQuAD-de with 6 of its 24 articles left out of the index, so their
# questions had no answer): the threshold keeps false abstention under 10 % on each.
ABSTAIN_BELOW = 0.55
CONFIDENCE_WEIGHTS = {"context": 0.5, "dense": 1.0, "unknown": -0.2, "pmi": 0.4}
# ... and for a model that cannot score text (a server behind --llm-url), fitted the same way
ABSTAIN_BELOW_UNSCORED = 0.39
CONFIDENCE_WEIGHTS_UNSCORED = {"context": 1.0, "dense": 1.0, "unknown": -0.1}

@dataclass(frozen=True)
class Verdict:
    abstain: bool
    confidence: float
    reason: str
    features: dict


def evidence_features(question: Question, top: Candidate, unknown_terms: int) -> dict:
    """What the best evidence sentence offers: the share of the question's terms in it (for
    a question in another language: of its translation's terms), alone and with the
    sentence before it, its similarity to the question, whether it holds a thing of the
    asked kind, and how many question terms the corpus does not know at all."""
    found = 1.0
    if question.kind != "other":
        found = float(bool(rank_spans(question.kind, set(question.terms), [(0, top.text, 0.0)], question.unit)))
    return {"overlap": top.overlap, "context": top.context, "dense": top.dense, "span_found": found,
            "unknown": float(min(unknown_terms, 2))}


def confidence(features: dict) -> tuple[float, float]:
    """The evidence score and the threshold it must reach."""
    if "pmi" in features:
        weights, threshold = CONFIDENCE_WEIGHTS, ABSTAIN_BELOW
    else:
        weights, threshold = CONFIDENCE_WEIGHTS_UNSCORED, ABSTAIN_BELOW_UNSCORED
    return sum(w * features.get(k, 0.0) for k, w in weights.items()), threshold


def judge_evidence(question: Question, cands: list[Candidate], features: dict) -> Verdict:
    """Is there evidence worth answering from?"""
    if not cands:
        return Verdict(True, 0.0, "nothing retrieved", {})
    conf, threshold = confidence(features)
    years = {n for n in question.numbers if YEAR.fullmatch(n)}
    if years and not any(years <= numbers(c.chunk_text) and term_overlap(question, c.text, skip_numbers=True) >= 0.5
                         for c in cands[:PASSAGES]):
        # "Umsatz im Jahr 2019": neither a sentence about Umsatz without 2019 nearby nor one
        # with 2019 about something else answers it
        return Verdict(True, conf, "no evidence about the question's subject in the year it asks about", features)
    if question.kind == "number" and not features.get("span_found", 1.0):
        # "Wie viel hat Meta für WhatsApp bezahlt?": the sentence that best matches the
        # question holds no amount at all
        return Verdict(True, conf, "the best evidence sentence holds no quantity", features)
    if conf < threshold:
        return Verdict(True, conf, f"evidence confidence {conf:.2f} below {threshold}", features)
    return Verdict(False, conf, "", features)


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def only_question_words(answer: str, question: Question) -> bool:
    """'Jason Droege' answering 'What position did Jason Droege hold?' says nothing new."""
    toks = re.findall(r"\w+", strip_markers(answer))
    return bool(toks) and all(question.asks_about(t) or t.lower() in ("in", "the", "der", "die", "das")
                              for t in toks)


def find_conflict(question: Question, best: ScoredSpan, pool: list[Passage], cands: list[Candidate]) -> list[tuple[str, Passage]]:
    """Other values of the asked quantity, of the same unit and magnitude as the best span
    (14,3 and 14,8 Milliarden: a conflict; 14 and 29: different facts), each in a sentence
    that matches the question about as well as the best one, in context (the sentence
    before it included). Returns (value, passage) pairs to report, best first, or [] when
    the sources agree."""
    if question.kind != "number":
        return []
    q0 = quantity(best.span.text)
    if q0 is None or q0[0] == 0:
        return []
    by_id = {p.id: p for p in pool}
    context = {(c.source, c.start): c.context for c in cands}
    best_context = context.get((by_id[best.passage_id].source, by_id[best.passage_id].start), 0.0)
    chosen, values = [(best.span.text, by_id[best.passage_id])], {q0[0]}
    for p in pool:
        if p.id == best.passage_id or context.get((p.source, p.start), 0.0) < CONFLICT_CONTEXT * best_context:
            continue
        found = [(sp.text, quantity(sp.text)) for sp in number_spans(p.text)]
        found = [(t, q) for t, q in found if q and q[1] == q0[1] and q[0] not in values
                 and max(q[0], q0[0]) / max(min(q[0], q0[0]), 1e-9) <= CONFLICT_RATIO]
        if len(found) == 1:  # one clear competing value in this sentence
            chosen.append((found[0][0], p))
            values.add(found[0][1][0])
    return chosen if len(chosen) > 1 else []


def plausible_translation(original: str, translated: str, target: str) -> bool:
    """A translation is used only if it is in the target language and keeps the
    original's names and numbers (a model that cannot translate loses them)."""
    if not translated or detect_language(translated) != target:
        return False
    names = [w for w in re.findall(r"\w[\w\-]*", original)[1:] if w[:1].isupper() or w[:1].isdigit()]
    kept = sum(w.lower() in translated.lower() for w in names)
    return kept * 2 >= len(names)


def _agrees(model_text: str, span_text: str) -> bool:
    """The model's answer and a candidate span name the same thing."""
    a, b = fold(strip_markers(model_text)), fold(span_text)
    return bool(a) and bool(b) and (b in a or a in b)


class Answerer:
    """Holds the loaded index, embedder and model; answers any number of questions."""

    def __init__(self, settings: Settings, retriever: Retriever, handle: ModelHandle):
        self.settings = settings
        self.retriever = retriever
        self.handle = handle

    @property
    def model(self) -> LocalModel:
        return self.handle.load()

    def parse(self, question: str) -> tuple[Question, bool, int]:
        """The question, whether it is in another language than the corpus, and how many
        of its terms the corpus does not know at all."""
        lex = self.retriever.index.lexical
        q = Question.parse(question, lex.idf)
        cross = q.lang not in lex.languages
        if cross:
            target = lex.languages[0] if len(lex.languages) == 1 else None
            translated = self._translate(question, q.lang, target) if target and self.settings.translate else None
            terms = Question.parse(translated, lex.idf).terms if translated else q.terms
            # Only words the corpus knows count: a translation's odd word choice, or an
            # untranslated question's own words, are not evidence of a missing fact.
            q = replace(q, terms={t: (w if lex.knows(t) else 0.0) for t, w in terms.items()})
            return q, True, 0
        return q, False, sum(not lex.knows(t) for t in q.terms)

    def _explains(self, sentence: str, question: str, lang: str) -> float:
        """How much more likely the model finds the question after reading the sentence
        than without it, per token (pointwise mutual information): evidence that answers
        a question also makes it expected."""
        model = self.model
        with_text, n = model.text_logprob(prompts.explains_prefix(sentence, lang), question)
        alone, _ = model.text_logprob(prompts.question_prefix(lang), question)
        return (with_text - alone) / max(n, 1)

    def generates(self) -> bool:
        """Whether the model writes the answer. A model under 1B parameters answered no
        question more often right than the checked extraction (README), so by default it
        does not, which also makes answering 20-50x faster."""
        mode = self.settings.generate
        return mode == "always" or (mode == "auto" and self._trusted())

    def warm_up(self) -> None:
        """Load everything a first question would (for a server, before it listens)."""
        self.ask("Wer? Who?")

    def _trusted(self) -> bool:
        n = self.handle.info.n_params  # None: a server's model, assumed to be a capable one
        return n is None or n >= TRUSTED_MODEL_PARAMS

    def _translate(self, question: str, source: str, target: str) -> str | None:
        if (source, target) not in prompts.TRANSLATIONS:
            return None
        gen = Generation()
        for _ in self.model.complete(prompts.translation_prompt(question, source, target), 48, ["\n"], gen):
            pass
        translated = first_line(gen.text)
        return translated if plausible_translation(question, translated, target) else None

    def ask(self, question: str, k: int | None = None, retriever: str = "hybrid",
            on_text: Callable[[str], None] | None = None, depth: int | None = None,
            strategy: str = "checked") -> Answer:
        """Answer from the top k chunks. depth > k retrieves (and reports) more ranks
        without using them as evidence: `rag eval` scores MRR@10 that way. strategy
        "baseline" puts the chunks into the prompt and trusts the model, for comparison."""
        question = " ".join(question.split())
        if not question:
            raise UsageError("the question is empty; ask e.g. rag ask \"Wer leitet Scale AI?\"")
        question, warnings = fit_question(question, self.settings.n_ctx)
        k = k or self.settings.k
        before = dict(self.model.counters) if self.handle.loaded else {}
        was_loaded = self.handle.loaded
        t0 = time.perf_counter()
        qvec = self.retriever.embedder.encode([question])[0]
        ranked_hits = self.retriever.search(question, max(k, depth or k), retriever, qvec=qvec)
        hits = ranked_hits[:k]
        q, cross, unknown = self.parse(question)
        gen = Generation()
        if strategy == "baseline":
            answer = self._baseline(q, hits, ranked_hits, gen, on_text)
        else:
            cands = evidence.candidates(q, hits)
            pool = evidence.select(cands, CONFLICT_POOL)
            ranked = rank_spans(q.kind, set(q.terms), [(p.id, p.text, p.score) for p in pool[:PASSAGES]], q.unit)
            features = {}
            if cands:
                features = evidence_features(q, cands[0], unknown)
                if getattr(self.model, "can_score", True):
                    features["pmi"] = self._explains(cands[0].text, question, q.lang)
            verdict = judge_evidence(q, cands, features)
            if verdict.abstain:
                answer = Answer(question, prompts.NO_ANSWER[q.lang], True, "abstained", [], ranked_hits)
            else:
                answer = self._answer(q, pool, cands, ranked, ranked_hits, gen, on_text)
            answer.confidence = verdict.confidence
            answer.trace = {"kind": q.kind, "unit": q.unit, "cross_lingual": cross, "reason": verdict.reason,
                            "features": verdict.features, "model": gen.text.strip()}
        total = time.perf_counter() - t0
        after = self.model.counters if self.handle.loaded else {}
        used = {key: after.get(key, 0) - before.get(key, 0) for key in ("prompt", "evaluated", "completion", "seconds")}
        load = self.handle.load_seconds if self.handle.loaded and not was_loaded else 0.0
        answer.warnings = warnings
        answer.timings = {
            # retrieval and evidence selection; the model's work (translating, scoring,
            # writing); loading the model, when this answer was the first to need it
            "retrieve_ms": round((total - used["seconds"] - load) * 1000, 2),
            "generate_ms": round(used["seconds"] * 1000, 2),
            "load_ms": round(load * 1000, 2),
            "total_ms": round(total * 1000, 2),
            # every prompt the model read for this answer (scoring, translating, writing),
            # the part of them it actually evaluated (the rest came from its KV cache), and
            # the tokens it wrote
            "prompt_tokens": used["prompt"],
            "prompt_tokens_evaluated": used["evaluated"],
            "completion_tokens": used["completion"],
        }
        return answer

    def _prompt_text(self, q: Question, passages: list[Passage]) -> str:
        if self.model.is_chat:
            return "\n".join(m["content"] for m in prompts.chat_messages(q.text, q.lang, passages))
        return prompts.completion_prompt(q.text, q.lang, passages)

    def _generate(self, q: Question, passages: list[Passage], gen: Generation, on_text) -> str:
        model = self.model
        if model.is_chat:
            stream = model.chat(prompts.chat_messages(q.text, q.lang, passages), self.settings.max_tokens * 4, gen)
        else:
            stream = model.complete(prompts.completion_prompt(q.text, q.lang, passages),
                                    self.settings.max_tokens, ["\n", "Frage:", "Question:"], gen)
        for piece in stream:
            if on_text:
                on_text(piece)
        return gen.text.strip() if model.is_chat else first_line(gen.text)

    def _answer(self, q: Question, pool: list[Passage], cands: list[Candidate], ranked: list[ScoredSpan],
                hits: list[Hit], gen: Generation, on_text) -> Answer:
        by_id = {p.id: p for p in pool}
        conflict = find_conflict(q, ranked[0], pool, cands) if ranked else []
        if conflict:
            return self._conflict(q, conflict, hits)
        passages = pool[:PASSAGES]
        raw = self._generate(q, passages, gen, on_text) if self.generates() else ""
        text, cited = parse_citations(raw, {p.id for p in passages})
        body = strip_markers(text)
        grounded = None
        if body and re.search(r"\w", body) and not DECLINES.search(body) and not only_question_words(body, q):
            cited, grounded = repair_citations(body, cited, passages)
        model_ok = grounded is not None and grounded.ok and bool(cited)
        if model_ok and self._trusted():
            # A model this size answers in sentences that read better than a quote; its
            # facts passed the check against the passages it cites.
            return self._make(q, _with_markers(body, cited), "generated", cited, by_id, hits)

        # A small model's free answer is right less often than the best evidence sentence,
        # so the answer quotes that sentence. A short answer goes in front of the quote only
        # when it is a clear choice: a span of the asked kind that the model named too, or
        # that stands well ahead of the other candidates.
        short, mode, quoted = None, "extractive", passages[0]
        if ranked:
            best = ranked[0]
            runner_up = next((r for r in ranked[1:] if fold(r.span.text) != fold(best.span.text)), None)
            margin = best.score - runner_up.score if runner_up else 1.0
            agreeing = [r for r in ranked if model_ok and _agrees(body, r.span.text)
                        and r.score >= best.score - SPAN_MARGIN]
            if agreeing:
                short, mode, quoted = agreeing[0].span, "generated", by_id[agreeing[0].passage_id]
            elif margin >= CLEAR_MARGIN:
                short, quoted = best.span, by_id[best.passage_id]
        quote = trim_quote(quoted.text, QUOTE_WORDS, short, set(q.terms))
        open_q, close_q = ("„", "“") if q.lang == "de" else ("\"", "\"")
        lead = f"{short.text} – " if short else ""
        return self._make(q, f"{lead}{open_q}{quote}{close_q} [{quoted.id}]", mode, [quoted.id], by_id, hits)

    def _conflict(self, q: Question, values: list[tuple[str, Passage]], hits) -> Answer:
        parts = "; ".join(f"{value} [{p.id}]" for value, p in values)
        note = {"de": "Die Quellen nennen unterschiedliche Werte: ",
                "en": "The sources give different figures: "}[q.lang]
        answer = self._make(q, note + parts + ".", "extractive", [p.id for _, p in values],
                            {p.id: p for _, p in values}, hits)
        answer.conflict = True
        return answer

    def _baseline(self, q: Question, hits: list[Hit], ranked_hits: list[Hit], gen: Generation, on_text) -> Answer:
        """Top-k chunks into the prompt, the model's answer taken as it is: what a plain
        RAG pipeline does, measured beside ours by `rag eval --strategy baseline`."""
        passages = [Passage(i + 1, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.text) for i, h in enumerate(hits)]
        # as many whole chunks as fit the context beside the examples and the answer
        budget = self.model.n_ctx - self.settings.max_tokens * 4 - 64
        while len(passages) > 1 and self.model.count_tokens(self._prompt_text(q, passages)) > budget:
            passages.pop()
        raw = self._generate(q, passages, gen, on_text)
        by_id = {p.id: p for p in passages}
        text, cited = parse_citations(raw, set(by_id))
        abstained = bool(DECLINES.search(text)) or not text
        return self._make(q, text or prompts.NO_ANSWER[q.lang], "abstained" if abstained else "generated",
                          [] if abstained else cited, by_id, ranked_hits, abstained)

    @staticmethod
    def _make(q: Question, text: str, mode: str, cited: list[int], by_id: dict, hits, abstained: bool = False) -> Answer:
        cited = list(dict.fromkeys(cited))
        citations = [replace(Citation.of(by_id[old]), id=new) for new, old in enumerate(cited, 1)]
        return Answer(q.text, renumber(text, cited), abstained, mode, citations, hits)


def fit_question(question: str, n_ctx: int) -> tuple[str, list[str]]:
    """A question longer than a quarter of the model's context (in characters, which
    over-counts tokens) is cut at a word boundary: the prompt must hold evidence too."""
    limit = max(200, n_ctx // 4 * 3)  # ~3 characters per token
    if len(question) <= limit:
        return question, []
    cut = question.rfind(" ", 0, limit)
    short = question[:cut if cut > limit // 2 else limit]
    return short, [f"the question was cut to its first {len(short)} of {len(question)} characters "
                   f"to fit the model's context (n_ctx {n_ctx})"]


def _with_markers(text: str, cited: list[int]) -> str:
    return f"{text} [{', '.join(map(str, cited))}]" if cited else text
