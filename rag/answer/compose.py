"""The checked answer, from evidence the policy found good enough.

The model is the weakest part of the pipeline, so it is never trusted:
- the answer rests on the reader's best (sentence, short answer) pair (reader.py): the
  short answer leads, the sentence is quoted with its citation;
- a model of 1B parameters or more writes the answer itself; its citations are mapped to
  passages that were in the prompt and its facts (numbers, names) must occur in the
  passages it cites, or the quote is given instead;
- the sources disagreeing on an asked quantity is reported with each value's source.
The Answer carries parts (short answer, quote, conflict values); cli/render.py writes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.answer import prompts
from rag.answer.candidates import AnswerCandidate
from rag.answer.citations import parse_citations, renumber, repair_citations, strip_markers
from rag.answer.evidence import PASSAGES, Candidate
from rag.answer.question import Question
from rag.answer.reader import Pair
from rag.answer.spans import ScoredSpan, Span, number_spans, quantity, trim_quote
from rag.answer.translate import first_line
from rag.lang.lexicon import ALL_STOPWORDS, DECLINES
from rag.lang.text import detect_language, fold
from rag.llm.base import Generation, LanguageModel
from rag.types import Answer, Citation, ConflictValue, Hit, Passage, Quote, ShortAnswer

QUOTE_WORDS = 35  # longer evidence sentences are cut to the clauses around the answer
CONFLICT_CONTEXT = 0.6  # a competing value's sentence matches the question at least this well, relative
CONFLICT_RATIO = 1.25  # ... and the value is of the same magnitude (14,3 vs 14,8: a conflict; 14 vs 29: not)

OnText = Callable[[str], None] | None


def only_question_words(answer: str, question: Question) -> bool:
    """'Jason Droege' answering 'What position did Jason Droege hold?' says nothing new."""
    toks = re.findall(r"\w+", strip_markers(answer))
    return bool(toks) and all(question.asks_about(t) or t.lower() in ALL_STOPWORDS for t in toks)


def find_conflict(
    question: Question, best: ScoredSpan, pool: list[Passage], cands: list[Candidate]
) -> list[tuple[str, Passage]]:
    """Other values of the asked quantity, of the same unit and magnitude as the best span
    (14,3 and 14,8 Milliarden: a conflict; 14 and 29: different facts), each in a sentence
    that matches the question about as well as the best one, in context (the sentence
    before it included). Returns (value, passage) pairs to report, best first, or [] when
    the sources agree."""
    if question.kind != "number":
        return []
    by_id = {p.id: p for p in pool}
    # a scale word is read in its sentence's language: "Billion" is 1e12 in German, 1e9 in English
    best_passage = by_id.get(best.passage_id)
    q0 = quantity(best.span.text, detect_language(best_passage.text) if best_passage else question.lang)
    if q0 is None or q0[0] == 0:
        return []
    context = {(c.source, c.start): c.context for c in cands}
    best_context = context.get((by_id[best.passage_id].source, by_id[best.passage_id].start), 0.0)
    chosen, values = [(best.span.text, by_id[best.passage_id])], {q0[0]}
    for p in pool:
        if p.id == best.passage_id or context.get((p.source, p.start), 0.0) < CONFLICT_CONTEXT * best_context:
            continue
        lang = detect_language(p.text)
        found = [(sp.text, q) for sp in number_spans(p.text) if (q := quantity(sp.text, lang))]
        found = [
            (t, q)
            for t, q in found
            if q[1] == q0[1] and q[0] not in values and max(q[0], q0[0]) / max(min(q[0], q0[0]), 1e-9) <= CONFLICT_RATIO
        ]
        if len(found) == 1:  # one clear competing value in this sentence
            chosen.append((found[0][0], p))
            values.add(found[0][1][0])
    return chosen if len(chosen) > 1 else []


def agrees(model_text: str, span_text: str) -> bool:
    """The model's answer and a candidate span name the same thing."""
    a, b = fold(strip_markers(model_text)), fold(span_text)
    return bool(a) and bool(b) and (b in a or a in b)


def prompt_text(model: LanguageModel, q: Question, passages: list[Passage]) -> str:
    """The answer prompt as the model reads it (for counting its tokens)."""
    if model.capabilities.chat:
        return "\n".join(m["content"] for m in prompts.chat_messages(q.text, q.lang, passages))
    return prompts.completion_prompt(q.text, q.lang, passages)


def generate(
    model: LanguageModel, q: Question, passages: list[Passage], max_tokens: int, gen: Generation, on_text: OnText
) -> str:
    """The model's answer from the passages, streamed to on_text; a chat model may write a
    sentence or two, a base model's answer ends with its line."""
    if model.capabilities.chat:
        stream = model.chat(prompts.chat_messages(q.text, q.lang, passages), max_tokens * 4, gen)
    else:
        stream = model.complete(
            prompts.completion_prompt(q.text, q.lang, passages), max_tokens, ["\n", "Frage:", "Question:"], gen
        )
    for piece in stream:
        if on_text:
            on_text(piece)
    return gen.text.strip() if model.capabilities.chat else first_line(gen.text)


def cite(
    q: Question,
    passages: dict[int, Passage],
    cited: list[int],
    hits: list[Hit],
    mode: str,
    *,
    text: str = "",
    short: ShortAnswer | None = None,
    quote: tuple[str, int] | None = None,
    conflict: Sequence[tuple[str, int]] = (),
    abstained: bool = False,
) -> Answer:
    """An Answer whose citations are the cited passages numbered 1..n in the order cited;
    markers in text, the quote's and the conflict values' passage ids follow the renumbering."""
    cited = list(dict.fromkeys(cited))
    new = {old: i for i, old in enumerate(cited, 1)}
    citations = [replace(Citation.of(passages[old]), id=new[old]) for old in cited]
    return Answer(
        q.text,
        renumber(text, cited),
        abstained,
        mode,
        citations,
        hits,
        lang=q.lang,
        short=short,
        quote=None if quote is None else Quote(quote[0], new[quote[1]]),
        conflict_values=[ConflictValue(v, new[pid]) for v, pid in conflict],
    )


def whole_number(sentence: str, span: Span) -> Span:
    """The number span of the sentence that holds the short answer ("14,8 Milliarden" ->
    "14,8 Milliarden Dollar"): values compare by magnitude and unit."""
    return next((n for n in number_spans(sentence) if n.start <= span.start and n.end >= span.end), span)


def named_pair(
    q: Question, body: str, found: Sequence[Pair], probs: Sequence[float], passages: Sequence[Passage]
) -> Pair | None:
    """The scorer's most probable pair whose candidate the model's answer names, from a sentence
    among the passages: the short answer of a model's own answer, checked by the same scorer.
    The question's own words are no answer ("Yann LeCun" in "Der Preis, den Yann LeCun gewann, …")."""
    named = [
        (prob, i)
        for i, (pair, prob) in enumerate(zip(found, probs, strict=True))
        if passage_of(passages, pair)
        and agrees(body, pair.candidate.text)
        and not only_question_words(pair.candidate.text, q)
    ]
    return found[max(named)[1]] if named else None


def short_of(cand: AnswerCandidate | None) -> ShortAnswer | None:
    return None if cand is None else ShortAnswer(cand.text, cand.start, cand.end)


def passage_of(pool: Sequence[Passage], chosen: Pair | None) -> Passage | None:
    """The pool's passage holding the pair's sentence (the reader's chosen one, or another)."""
    if chosen is None:
        return None
    return next((p for p in pool if (p.source, p.start) == (chosen.sentence.source, chosen.sentence.start)), None)


def checked_answer(
    q: Question,
    pool: list[Passage],
    cands: list[Candidate],
    chosen: Pair | None,
    hits: list[Hit],
    model: LanguageModel,
    writes: bool,
    trust: bool,
    max_tokens: int,
    gen: Generation,
    on_text: OnText,
    found: Sequence[Pair],
    probs: Sequence[float],
) -> Answer:
    """The answer from the evidence pool: the differing values, the model's checked words,
    or the reader's chosen sentence quoted, led by its chosen short answer. writes: the
    model writes an answer; trust: its checked answer may be the answer (policy.py);
    found, probs: the reader's pairs and their probabilities, for the short answer of the
    model's own answer."""
    by_id = {p.id: p for p in pool}
    quoted = passage_of(pool, chosen) or pool[0]
    cand = chosen.candidate if chosen is not None and passage_of(pool, chosen) else None
    span = None if cand is None else Span(cand.text, cand.start - quoted.start, cand.end - quoted.start)
    conflict = (
        find_conflict(q, ScoredSpan(quoted.id, whole_number(quoted.text, span), 0, 1.0), pool, cands) if span else []
    )
    short = short_of(cand)
    if conflict:
        # the short answer stays the reader's pick (the first value), for whoever reads the
        # JSON's short answer alone; the text names every value
        return cite(
            q,
            {p.id: p for _, p in conflict},
            [p.id for _, p in conflict],
            hits,
            "extractive",
            short=short,
            conflict=[(value, p.id) for value, p in conflict],
        )
    passages = pool[:PASSAGES]
    raw = generate(model, q, passages, max_tokens, gen, on_text) if writes else ""
    text, cited = parse_citations(raw, {p.id for p in passages})
    body = strip_markers(text)
    grounded = None
    if body and re.search(r"\w", body) and not DECLINES.search(body) and not only_question_words(body, q):
        cited, grounded = repair_citations(body, cited, passages)
    model_ok = grounded is not None and grounded.ok and bool(cited)
    named = model_ok and cand is not None and agrees(body, cand.text)
    if model_ok and trust:
        # A model this size answers in sentences that read better than a quote; its
        # facts passed the check against the passages it cites. Its short answer is the
        # reader's pick when its words name it, else the scorer's best of what they name.
        if not named:
            own = named_pair(q, body, found, probs, [by_id[i] for i in cited])
            short = short_of(None if own is None else own.candidate)
        return cite(q, by_id, cited, hits, "generated", text=with_markers(body, cited), short=short)

    # A small model's free answer is right less often than the reader's pick, so the answer
    # is the reader's short answer and the sentence it stands in, quoted; the model's words
    # only mark it "generated" when they name the same thing.
    mode = "generated" if named else "extractive"
    quote = trim_quote(quoted.text, QUOTE_WORDS, span, set(q.terms))
    return cite(q, by_id, [quoted.id], hits, mode, short=short, quote=(quote, quoted.id))


def with_markers(text: str, cited: list[int]) -> str:
    return f"{text} [{', '.join(map(str, cited))}]" if cited else text
