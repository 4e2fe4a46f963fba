"""The baseline strategy: what a plain RAG pipeline does, measured beside the checked one by
`rag eval --strategy baseline`. Top-k chunks into the prompt, the model's answer taken as it is."""

from __future__ import annotations

from rag.answer.citations import parse_citations
from rag.answer.compose import OnText, cite, generate, prompt_text
from rag.answer.question import Question
from rag.lang.lexicon import DECLINES
from rag.llm.base import Generation, LanguageModel
from rag.types import Answer, Hit, Passage

PROMPT_SLACK = 64  # tokens kept free beside the passages, the examples and the answer


def baseline_answer(
    q: Question,
    hits: list[Hit],
    ranked_hits: list[Hit],
    model: LanguageModel,
    max_tokens: int,
    gen: Generation,
    on_text: OnText,
) -> Answer:
    passages = [Passage(i + 1, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.text) for i, h in enumerate(hits)]
    # as many whole chunks as fit the context beside the examples and the answer
    budget = model.n_ctx - max_tokens * 4 - PROMPT_SLACK
    while len(passages) > 1 and model.count_tokens(prompt_text(model, q, passages)) > budget:
        passages.pop()
    raw = generate(model, q, passages, max_tokens, gen, on_text)
    by_id = {p.id: p for p in passages}
    text, cited = parse_citations(raw, set(by_id))
    abstained = bool(DECLINES.search(text)) or not text
    return cite(
        q,
        by_id,
        [] if abstained else cited,
        ranked_hits,
        "abstained" if abstained else "generated",
        text=text,
        abstained=abstained,
    )
