"""Honest timings: an answer reports every token the model read and wrote over all its
prompts, per prompt kind (rag/llm/usage.py), with the real default model."""

from __future__ import annotations

import threading

import pytest

from rag.llm.base import Generation
from rag.llm.usage import KindUsage, Usage, record, recording


@pytest.mark.parametrize(
    "calls, total, kinds",
    [
        ([], (0, 0, 0, 0, 0.0), []),
        ([("extract", 190, 10, 5, 0.1)], (1, 190, 10, 5, 0.1), ["extract"]),
        (
            [("extract", 190, 10, 5, 0.1), ("translate", 93, 93, 9, 0.2), ("extract", 50, 50, 1, 0.3)],
            (3, 333, 153, 15, 0.6),
            ["translate", "extract"],  # known kinds in the order an answer makes them
        ),
        (
            [("answer", 400, 20, 7, 0.5), ("zzz", 1, 1, 0, 0.0), ("score", 30, 30, 0, 0.1)],
            (3, 431, 51, 7, 0.6),
            ["answer", "score", "zzz"],
        ),
    ],
)
def test_usage_sums_calls_per_kind(calls, total, kinds):
    usage = Usage()
    for call in calls:
        usage.add(*call)
    t = usage.total()
    assert (t.calls, t.prompt_tokens, t.prompt_tokens_evaluated, t.completion_tokens) == total[:4]
    assert t.seconds == pytest.approx(total[4])
    by_kind = usage.by_kind()
    assert list(by_kind) == kinds
    for key in ("calls", "prompt_tokens", "prompt_tokens_evaluated", "completion_tokens"):
        assert sum(k[key] for k in by_kind.values()) == t.to_json()[key]


def test_record_feeds_the_model_counters_and_only_this_threads_usage():
    counters = {"prompt": 0, "evaluated": 0, "completion": 0, "seconds": 0.0}
    record(counters, "extract", 5, 5, 1, 0.0)  # nothing recording: counters only
    seen: dict[str, KindUsage] = {}
    barrier = threading.Barrier(2)

    def answer(kind: str, n: int) -> None:
        with recording() as usage:
            barrier.wait()  # both record at the same time
            for _ in range(n):
                record(counters, kind, 10, 2, 1, 0.0)
            barrier.wait()
        seen[kind] = usage.kinds[kind]
        assert list(usage.kinds) == [kind]

    threads = [threading.Thread(target=answer, args=a) for a in (("translate", 3), ("answer", 5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen["translate"].calls == 3 and seen["answer"].calls == 5
    assert counters["prompt"] == 5 + 8 * 10 and counters["completion"] == 1 + 8


@pytest.fixture(scope="module")
def answerer(seeds_index):
    from rag import app
    from rag.config import load_settings

    return app.open_answerer(load_settings(index=seeds_index))


def spy_prompts(model) -> list[tuple[str, str, Generation | None]]:
    """Each completion prompt the model is sent, with its kind and what it wrote, and each text
    it scores (kind "score"; the real model does the work, the spy only keeps the prompt text)."""
    sent: list[tuple[str, str, Generation | None]] = []
    complete, score = model.complete, model.text_logprob

    def recorded(prompt, max_tokens, stop, out):
        sent.append((out.kind, prompt, out))
        return complete(prompt, max_tokens, stop, out)

    def scored(prefix, text):
        sent.append(("score", prefix + text, None))
        return score(prefix, text)

    model.complete, model.text_logprob = recorded, scored
    return sent


@pytest.mark.llm
@pytest.mark.parametrize(
    "question, kinds",
    [
        ("Who becomes interim CEO of Scale AI?", {"translate", "extract"}),  # English over German articles
        ("Wer wird Interims-CEO von Scale AI?", {"extract"}),
    ],
)
def test_timings_count_every_prompt_of_the_real_model(answerer, question, kinds):
    model = answerer.model
    sent = spy_prompts(model)
    try:
        t = answerer.ask(question).timings
    finally:
        del model.complete, model.text_logprob  # the instance attributes: the class's methods again
    # "score": the model's likelihood of the reader's shortlisted answers, when there are two
    assert set(t["prompts"]) - {"score"} == kinds and set(t["prompts"]) == {kind for kind, _, _ in sent}
    for key in ("calls", "prompt_tokens", "prompt_tokens_evaluated", "completion_tokens"):
        total = t["model_calls"] if key == "calls" else t[key]
        assert total == sum(k[key] for k in t["prompts"].values()), (key, t)
    assert t["generate_ms"] == pytest.approx(sum(k["ms"] for k in t["prompts"].values()), abs=0.05)
    for kind, per in t["prompts"].items():
        prompts = [(p, out) for k, p, out in sent if k == kind]
        assert per["calls"] == len(prompts)
        if kind == "score":  # writes nothing; a prompt scored before is not decoded again
            assert per["completion_tokens"] == 0 and 0 <= per["prompt_tokens_evaluated"] <= per["prompt_tokens"]
            continue
        # at least the tokens of each prompt as llama.cpp tokenizes it (equal: nothing is left out)
        assert per["prompt_tokens"] == sum(model.count_tokens(p) for p, _ in prompts) > 0
        assert 0 < per["prompt_tokens_evaluated"] <= per["prompt_tokens"]
        written = sum(len(model.llm.tokenize(out.text.encode(), add_bos=False)) for _, out in prompts)
        # the sampled tokens: at least what was streamed, and one per call (a stop or end token)
        assert per["completion_tokens"] >= max(written, per["calls"])


@pytest.mark.llm
def test_generated_answer_counts_its_prompt_kind(seeds_index):
    """With the model writing the answer, the answer prompt is one more kind, and the
    sampled tokens include the stop the written text leaves out."""
    from rag import app
    from rag.config import load_settings

    answerer = app.open_answerer(load_settings(index=seeds_index, generate="always"))
    answer = answerer.ask("Wo wurde Alexandr Wang geboren?")
    prompts = answer.timings["prompts"]
    assert "answer" in prompts and prompts["answer"]["calls"] == 1
    assert prompts["answer"]["prompt_tokens"] > prompts["extract"]["prompt_tokens"]
    written = answer.trace["model"]
    assert prompts["answer"]["completion_tokens"] >= len(answerer.model.llm.tokenize(written.encode(), add_bos=False))
    assert answer.timings["prompt_tokens"] == sum(k["prompt_tokens"] for k in prompts.values())


@pytest.mark.llm
def test_an_answer_does_not_depend_on_the_question_before_it(answerer):
    """Each answer from a warm model, after other questions in two orders, equals the
    answer of a model that never saw another prompt (`rag ask`). Prompts are decoded in
    fixed blocks (llama.EVAL_BLOCK); reusing a cached prefix cut anywhere changed these
    answers ("21" vs "28 Jahre", "1,5" vs "1,2 Milliarden Dollar")."""
    from rag.llm.llama import LocalHandle

    questions = [
        "Wie viel Prozent der staatlichen KI-Investitionen sollen nach Wangs Vorschlag in Rechenleistung fließen?",
        "Welcher Kauf war laut N-TV eine noch größere Investition von Meta als der Einstieg bei Scale AI?",
        "Mit welchem Wert wird Scale AI durch den Einstieg von Meta bewertet?",
        "Wie viel hat Meta 2014 für WhatsApp bezahlt?",
        "At what age is Alexandr Wang said to have been the world's youngest self-made billionaire?",
        "In which year did Meta buy WhatsApp?",
    ]

    def key(a) -> tuple:
        return a.text, a.abstained, a.short, a.quote, a.trace.get("copied"), tuple(a.citations)

    warm = answerer.handle
    cold = {}
    try:
        for q in questions:
            answerer.handle = LocalHandle(warm.choice, *warm._args)  # nothing cached
            cold[q] = key(answerer.ask(q))
    finally:
        answerer.handle = warm
    for order in (questions, questions[::-1]):
        for q in order:
            assert key(answerer.ask(q)) == cold[q], q
