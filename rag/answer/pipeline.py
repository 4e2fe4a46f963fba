"""Question -> Answer: the stages in order, and what each answer cost.

read the question once (parse.py: language, kind, unit, terms; translated when it is in
another language than the corpus) -> retrieve (index/retrieve.py) -> select evidence
sentences (evidence.py, body sentences only) -> the reader scores (sentence, short answer)
pairs and how likely its best is right (reader.py) -> decide whether to answer (policy.py)
-> the model's likelihood reorders the reader's best few (reader.rerank) -> answer from the
chosen pair (compose.py; baseline.py for comparison) -> the follow-up rule
(policy.py). Data flows down: no stage re-reads the question.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rag.answer import evidence, reader
from rag.answer.baseline import baseline_answer
from rag.answer.compose import checked_answer
from rag.answer.extract import Extracted, answer_logprob, copy_answer, got_span
from rag.answer.parse import Asked, read_question
from rag.answer.policy import check_follow_up, judge_evidence, trusted, understood, writes_answers
from rag.answer.question import Question
from rag.answer.reader import Pair, Reader, default_reader
from rag.answer.scoring import evidence_features
from rag.answer.translate import translate
from rag.answer.tuning import Tuning, default_tuning
from rag.config import Settings
from rag.errors import UsageError
from rag.index.locate import locate
from rag.index.retrieve import Retriever
from rag.llm.base import Generation, LanguageModel, ModelHandle
from rag.llm.usage import Usage, recording
from rag.types import Answer, Turn

STRATEGIES = ("checked", "baseline")
# what Answerer.ask tells on_stage, in order: read the question, retrieve, weigh evidence
# sentences, the model copies a span, then the model writes or the answer is composed
STAGES = ("read", "retrieve", "evidence", "extract", "write", "compose")


class Answerer:
    """Holds the loaded index, embedder and model; answers any number of questions."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        handle: ModelHandle,
        tuning: Tuning | None = None,
        reader: Reader | None = None,
    ):
        self.settings = settings
        self.retriever = retriever
        self.handle = handle
        self.tuning = tuning or default_tuning()  # fitted weights (scripts/fit.py swaps in its own)
        self._reader = reader  # None: the shipped one (reader.json), read when first needed

    @property
    def reader(self) -> Reader:
        """The trained reader (scripts/train_reader.py writes it; training needs none yet)."""
        return self._reader or default_reader()

    @property
    def model(self) -> LanguageModel:
        return self.handle.load()

    def use_model(self, settings: Settings, handle: ModelHandle) -> None:
        """Answer from now on with another model (and the settings it was chosen with); the
        index and embedder stay loaded."""
        self.settings, self.handle = settings, handle

    def generates(self) -> bool:
        """Whether the model writes the answer (policy.writes_answers); known without loading it."""
        return writes_answers(self.settings.generate, self.handle.capabilities)

    def warm_up(self) -> None:
        """Load everything a first question would (for a server, before it listens)."""
        self.ask("Wer? Who?")

    def read(self, question: str) -> Asked:
        """The question parsed once, translated when the corpus is in another language."""

        def translator(text: str, source: str, target: str) -> str | None:
            return translate(self.model, text, source, target)

        return read_question(question, self.retriever.index.lexical, translator if self.settings.translate else None)

    def evidence_for(self, question: str, k: int | None = None) -> list[evidence.Candidate]:
        """The evidence sentences for a question, best first: what scripts/fit.py weighs."""
        return self.read_evidence(question, k)[1]

    def read_evidence(self, question: str, k: int | None = None) -> tuple[Asked, list[evidence.Candidate]]:
        """The question as read and its evidence sentences, best first: what the reader reads
        (scripts/train_reader.py builds its pairs from them)."""
        read = self.read(" ".join(question.split()))
        hits = self.retriever.search(read.query, k or self.settings.k, "hybrid")
        return read, evidence.candidates(read.question, hits, self.tuning.evidence_weights)

    def extract(self, q: Question, cands: list[evidence.Candidate]) -> Extracted | None:
        """The model's copied answer from the best evidence sentence (extract.py), which the
        reader weighs beside the tagged candidates."""
        return copy_answer(self.model, cands[0], q.text) if cands else None

    def likelihood(self, q: Question) -> Callable[[Pair], tuple[float, int]] | None:
        """The model's log-probability of a pair's answer as its copy (None: it cannot score)."""
        if not self.handle.capabilities.score:
            return None
        return lambda pair: answer_logprob(self.model, pair.sentence, q.text, pair.candidate.text)

    def ask(
        self,
        question: str,
        k: int | None = None,
        retriever: str = "hybrid",
        on_text: Callable[[str], None] | None = None,
        depth: int | None = None,
        strategy: str = "checked",
        previous: Turn | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer from the top k chunks. depth > k retrieves (and reports) more ranks
        without using them as evidence: `rag eval` scores MRR@10 that way. strategy
        "baseline" puts the chunks into the prompt and trusts the model, for comparison.
        previous: the conversation's last turn, which a follow-up may refer to.
        on_stage: told each stage's name (STAGES) as it starts, for a page that shows progress."""
        with recording() as usage:
            return self._ask(question, k, retriever, on_text, depth, strategy, previous, on_stage, usage)

    def _ask(
        self,
        question: str,
        k: int | None,
        retriever: str,
        on_text: Callable[[str], None] | None,
        depth: int | None,
        strategy: str,
        previous: Turn | None,
        on_stage: Callable[[str], None] | None,
        usage: Usage,
    ) -> Answer:
        stage = on_stage or (lambda name: None)
        asked = understood(question, previous)
        text = " ".join(asked.split())
        if not text:
            raise UsageError('the question is empty; ask e.g. rag ask "Wer leitet Scale AI?"')
        text, warnings = fit_question(text, self.settings.n_ctx)
        k = k or self.settings.k
        was_loaded = self.handle.loaded
        t0 = time.perf_counter()
        stage("read")
        read = self.read(text)
        q = read.question
        # embedded here, not left to search: lexical search skips it, but evidence selection
        # still weighs each sentence's similarity to the question
        stage("retrieve")
        qvec = self.retriever.embedder.encode([text])[0]
        ranked_hits = self.retriever.search(read.query, max(k, depth or k), retriever, qvec=qvec)
        hits = ranked_hits[:k]
        gen = Generation(kind="answer")
        if strategy == "baseline":
            stage("write")
            answer = baseline_answer(q, hits, ranked_hits, self.model, self.settings.max_tokens, gen, on_text)
        else:
            stage("evidence")
            cands = evidence.candidates(q, hits, self.tuning.evidence_weights)
            pool = evidence.select(cands, evidence.CONFLICT_POOL)
            stage("extract")
            got = self.extract(q, cands)
            found = reader.pairs(
                q,
                cands,
                read.unknown_terms,
                generated=got,
                similarity=reader.similarity_to(self.retriever.embedder.encode, qvec),  # the question embedded once
            )
            # whether to answer is the scorer's alone (its best pair); which answer, the
            # scorer's and the model's likelihood together
            probs = self.reader.probabilities(found)
            top, best = self.reader.best(found, probs)
            probability = self.reader.confidence(
                best,
                read.unknown_terms,
                cands[0] if cands else None,
                None if top is None else top.features,
                got_span(got),
            )
            features = evidence_features(q, cands[0], read.unknown_terms) if cands else {}
            if top is not None:
                features["reader"] = {k: round(v, 3) for k, v in top.features.items()}
            years_missing = top.features.get("years_chunk", 0.0) if top is not None else 0.0
            verdict = judge_evidence(cands, probability, self.reader.threshold, features, years_missing)
            if verdict.abstain:
                answer = Answer(q.text, "", True, "abstained", [], ranked_hits, lang=q.lang, reason=verdict.reason)
            else:
                chosen = self.reader.rerank(found, self.likelihood(q), cands[0], probs)
                stage("write" if self.generates() else "compose")
                answer = checked_answer(
                    q,
                    pool,
                    cands,
                    chosen,
                    ranked_hits,
                    self.model,
                    self.generates(),
                    trusted(self.handle.capabilities),
                    self.settings.max_tokens,
                    gen,
                    on_text,
                    found,
                    probs,
                )
            answer.confidence = verdict.confidence
            answer.trace = {
                "kind": q.kind,
                "unit": q.unit,
                "cross_lingual": read.cross_lingual,
                "reason": verdict.reason,
                "features": verdict.features,
                "model": gen.text.strip(),
                "copied": None if got is None else got.text,
            }
        if asked != question:
            answer.rewritten_from = question
            answer = check_follow_up(question, answer, previous)
            if answer.reason and strategy != "baseline":
                answer.trace["reason"] = answer.reason
        answer.citations = locate(self.retriever.index, answer.citations)  # page, section, title
        answer.warnings = warnings
        answer.timings = self._timings(t0, usage, was_loaded)
        return answer

    def _timings(self, t0: float, usage: Usage, was_loaded: bool) -> dict:
        total = time.perf_counter() - t0
        used = usage.total()
        load = self.handle.load_seconds if self.handle.loaded and not was_loaded else 0.0
        return {
            # retrieval and evidence selection; the model's work (translating, copying the
            # answer, writing); loading the model, when this answer was the first to need it
            "retrieve_ms": round((total - used.seconds - load) * 1000, 2),
            "generate_ms": round(used.seconds * 1000, 2),
            "load_ms": round(load * 1000, 2),
            "total_ms": round(total * 1000, 2),
            # every prompt the model read for this answer, summed over all its calls, the part
            # of them it actually evaluated (the rest came from its KV cache), and every token
            # it wrote; per prompt kind under "prompts"
            "prompt_tokens": used.prompt_tokens,
            "prompt_tokens_evaluated": used.prompt_tokens_evaluated,
            "completion_tokens": used.completion_tokens,
            "model_calls": used.calls,
            "prompts": usage.by_kind(),
        }


def fit_question(question: str, n_ctx: int) -> tuple[str, list[str]]:
    """A question longer than a quarter of the model's context (in characters, which
    over-counts tokens) is cut at a word boundary: the prompt must hold evidence too."""
    limit = max(200, n_ctx // 4 * 3)  # ~3 characters per token
    if len(question) <= limit:
        return question, []
    cut = question.rfind(" ", 0, limit)
    short = question[: cut if cut > limit // 2 else limit]
    return short, [
        f"the question was cut to its first {len(short)} of {len(question)} characters "
        f"to fit the model's context (n_ctx {n_ctx})"
    ]
