"""Question -> Answer: retrieve, select evidence, prompt the model, check what it says.

The model is the weakest part of the pipeline, so it is never trusted: its citations are
mapped to passages that were in the prompt, its facts must occur in the passages it
cites, and when they do not the answer falls back to quoting the best evidence. When the
evidence itself is too weak, the answer says that the sources don't say.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Callable

from rag import evidence, prompts
from rag.citations import parse_citations, renumber, repair_citations, strip_markers
from rag.config import Settings
from rag.errors import UsageError
from rag.evidence import Candidate, Question
from rag.generate import Generation, LocalModel
from rag.retrieve import Retriever
from rag.spans import rank_spans
from rag.text import detect_language, fold, numbers
from rag.types import Answer, Citation, Hit, Passage

# Evidence weaker than this is no evidence. Set by hand on questions about seeds/.
MIN_OVERLAP = 0.34
MIN_DENSE = 0.30
PASSAGES = 3
SPAN_MARGIN = 0.1  # how far below the best candidate span the model's choice may rank

_MODEL_DECLINES = re.compile(
    r"nicht (in den|genannt|erwähnt|angegeben)|keine (angabe|information)|sagen dazu nichts|"
    r"not (mentioned|stated|say|given|in the)|don't say|no information|unknown|unbekannt", re.I)


@dataclass(frozen=True)
class Verdict:
    abstain: bool
    reason: str


def judge_evidence(question: Question, best: list[Candidate]) -> Verdict:
    """Is there evidence worth answering from? `best` are the top candidates, best first."""
    if not best:
        return Verdict(True, "nothing retrieved")
    if question.numbers and not any(question.numbers <= numbers(c.text) and c.overlap >= 0.5 for c in best):
        # "Umsatz im Jahr 2019": a sentence with 2019 about something else does not answer it
        return Verdict(True, "no evidence sentence has the question's numbers in its context")
    top = best[0]
    if top.overlap < MIN_OVERLAP and top.dense < MIN_DENSE:
        return Verdict(True, "no sentence shares enough with the question")
    return Verdict(False, "")


def extractive_text(passage: Passage, lang: str) -> str:
    quote = passage.text.strip()
    return (f"„{quote}“ [{passage.id}]" if lang == "de" else f"\"{quote}\" [{passage.id}]")


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


class Answerer:
    """Holds the loaded index, embedder and model; answers any number of questions."""

    def __init__(self, settings: Settings, retriever: Retriever, model_loader: Callable[[], LocalModel]):
        self.settings = settings
        self.retriever = retriever
        self._model_loader = model_loader
        self._model: LocalModel | None = None

    @property
    def model(self) -> LocalModel:
        if self._model is None:
            self._model = self._model_loader()
        return self._model

    def _idf(self, lang_in_corpus: bool):
        lex = self.retriever.index.lexical

        def idf(term: str) -> float:
            if not lang_in_corpus and not lex.knows(term):
                return 0.0  # a cross-lingual question: its words are not expected in the text
            return lex.idf(term)
        return idf

    def ask(self, question: str, k: int | None = None, retriever: str = "hybrid",
            on_text: Callable[[str], None] | None = None, depth: int | None = None) -> Answer:
        """Answer from the top k chunks. depth > k retrieves (and reports) more ranks
        without using them as evidence: `rag eval` scores MRR@10 that way."""
        question = " ".join(question.split())
        if not question:
            raise UsageError("the question is empty; ask e.g. rag ask \"Wer leitet Scale AI?\"")
        k = k or self.settings.k
        t0 = time.perf_counter()
        embedder = self.retriever.embedder
        qvec = embedder.encode([question])[0]
        ranked = self.retriever.search(question, max(k, depth or k), retriever, qvec=qvec)
        hits = ranked[:k]
        lang = detect_language(question)
        q = Question.parse(question, self._idf(lang in self.retriever.index.lexical.languages))
        cands = evidence.candidates(q, hits)
        t_retrieved = time.perf_counter()
        timings = {"retrieve_ms": (t_retrieved - t0) * 1000}

        verdict = judge_evidence(q, cands[:PASSAGES])
        passages = evidence.select(cands, PASSAGES)
        gen = Generation()
        if verdict.abstain:
            answer = self._abstain(question, lang, ranked)
        else:
            answer = self._generate(q, passages, ranked, gen, on_text)
        t_done = time.perf_counter()
        timings.update({
            "generate_ms": (t_done - t_retrieved) * 1000,
            "total_ms": (t_done - t0) * 1000,
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
        })
        answer.timings = {key: round(v, 2) if isinstance(v, float) else v for key, v in timings.items()}
        return answer

    def _abstain(self, question: str, lang: str, hits: list[Hit]) -> Answer:
        return Answer(question, prompts.NO_ANSWER[lang], True, "abstained", [], hits)

    def _generate(self, q: Question, passages: list[Passage], hits, gen: Generation, on_text) -> Answer:
        model = self.model
        if model.is_chat:
            stream = model.chat(prompts.chat_messages(q.text, q.lang, passages), self.settings.max_tokens * 4, gen)
        else:
            stream = model.complete(prompts.completion_prompt(q.text, q.lang, passages),
                                    self.settings.max_tokens, ["\n", "Frage:", "Question:"], gen)
        for piece in stream:
            if on_text:
                on_text(piece)
        raw = gen.text.strip() if model.is_chat else first_line(gen.text)
        by_id = {p.id: p for p in passages}
        text, cited = parse_citations(raw, set(by_id))
        declined = bool(_MODEL_DECLINES.search(text))
        grounded = None
        if text and not declined and re.search(r"\w", strip_markers(text)):
            cited, grounded = repair_citations(strip_markers(text), cited, passages)
        model_ok = grounded is not None and grounded.ok and bool(cited)

        ranked = rank_spans(q.kind, set(q.terms), q.lang, [(p.id, p.text, p.score) for p in passages])
        if ranked:
            best = ranked[0]
            agreeing = [s for s in ranked if model_ok and _agrees(strip_markers(text), s.span.text)]
            if agreeing and agreeing[0].score >= best.score - SPAN_MARGIN:
                return self._answer(q, _with_markers(strip_markers(text), cited), "generated", cited, by_id, hits)
            return self._answer(q, f"{best.span.text} [{best.passage_id}]", "extractive",
                                [best.passage_id], by_id, hits)
        if model_ok:
            return self._answer(q, _with_markers(strip_markers(text), cited), "generated", cited, by_id, hits)
        best = passages[0]
        return self._answer(q, extractive_text(best, q.lang), "extractive", [best.id], by_id, hits)

    @staticmethod
    def _answer(q: Question, text: str, mode: str, cited: list[int], by_id: dict, hits) -> Answer:
        citations = [replace(Citation.of(by_id[old]), id=new) for new, old in enumerate(cited, 1)]
        return Answer(q.text, renumber(text, cited), False, mode, citations, hits)


def _with_markers(text: str, cited: list[int]) -> str:
    return f"{text} [{', '.join(map(str, cited))}]" if cited else text


def _agrees(model_text: str, span_text: str) -> bool:
    """The model's answer and a candidate span name the same thing."""
    a, b = fold(model_text), fold(span_text)
    if not a or not b:
        return False
    return b in a or a in b



