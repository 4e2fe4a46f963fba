"""The model interface (rag.llm.base): every implementation satisfies the Protocol and says
what it can do through `capabilities`; the fake behaves like a model; llama.cpp's KV-state
slots give the same results as a fresh evaluation while skipping the cached prefix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import ModelError
from rag.llm.base import Capabilities, Generation, LanguageModel, ModelHandle
from rag.llm.fake import FakeHandle, FakeModel
from rag.llm.remote import RemoteHandle, RemoteModel

ROOT = Path(__file__).resolve().parent.parent


def remote() -> RemoteModel:
    return RemoteModel("http://127.0.0.1:9")  # never contacted


@pytest.mark.parametrize(
    "model,expected",
    [
        (FakeModel(), Capabilities(chat=False, score=False, n_params=270_000_000)),
        (
            FakeModel(score=lambda prefix, text: -1.0, chat=True, n_params=None),
            Capabilities(chat=True, score=True, n_params=None),
        ),
        (remote(), Capabilities(chat=True, score=False, n_params=None)),
    ],
)
def test_models_satisfy_the_protocol_and_state_their_capabilities(model, expected):
    assert isinstance(model, LanguageModel)
    assert model.capabilities == expected


@pytest.mark.parametrize(
    "handle", [FakeHandle(FakeModel(chat=True)), RemoteHandle("http://127.0.0.1:9")], ids=["fake", "remote"]
)
def test_handles_describe_the_model_without_loading_it(handle):
    assert isinstance(handle, ModelHandle)
    assert handle.capabilities == handle.load().capabilities
    assert bool(handle.info.chat_template) == handle.capabilities.chat


@pytest.mark.parametrize("model", [FakeModel(), remote()], ids=["fake", "remote"])
def test_a_model_that_cannot_score_says_so(model):
    with pytest.raises(ModelError, match="cannot score"):
        model.text_logprob("prefix ", "text")


@pytest.mark.parametrize(
    "reply,stop,max_tokens,text",
    [
        ("Jason Droege", [], 10, "Jason Droege"),
        ("Jason Droege\nmore", ["\n"], 10, "Jason Droege"),
        ("one two three four", [], 2, "one two"),
        ("", [], 10, ""),
    ],
)
def test_fake_completion_streams_its_queued_reply(reply, stop, max_tokens, text):
    model = FakeModel([reply])
    out = Generation()
    pieces = list(model.complete("Frage: Wer? Antwort:", max_tokens, stop, out))
    assert "".join(pieces) == out.text == text
    assert out.completion_tokens == len(pieces) == model.counters["completion"]
    assert out.prompt_tokens == model.count_tokens("Frage: Wer? Antwort:") == model.counters["prompt"]
    assert model.calls == [("complete", "Frage: Wer? Antwort:")]


def test_fake_replies_in_order_then_empty_and_scores_per_token():
    model = FakeModel(["a", "b"], score=lambda prefix, text: -0.5, chat=True)
    replies = ["".join(model.chat([{"role": "user", "content": "q"}], 8, Generation())) for _ in range(3)]
    assert replies == ["a", "b", ""]
    assert model.text_logprob("Frage:", " Wer leitet Scale AI?") == (-0.5 * 5, 5)


def test_fake_replies_computed_from_the_prompt():
    model = FakeModel(lambda prompt: prompt.upper())
    assert "".join(model.complete("wer", 8, [], Generation())) == "WER"


@pytest.mark.parametrize("module", ["rag.llm.catalog", "rag.llm.base", "rag.llm.fake", "rag.cli.doctor"])
def test_choosing_a_model_does_not_import_llama_cpp(module):
    """Also: the catalog does not import llm/llama.py, so the two form no cycle."""
    code = f"import sys, {module}; print([m for m in ('llama_cpp', 'rag.llm.llama') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "a,b,n",
    [
        ([], [1], 0),
        ([1, 2, 3], [1, 2, 3], 3),
        ([1, 2, 3], [1, 2, 4], 2),
        ([1, 2], [1, 2, 3], 2),
        ([5], [1], 0),
    ],
)
def test_common_prefix(a, b, n):
    from rag.llm.llama import _common_prefix

    assert _common_prefix(a, b) == n


@pytest.mark.parametrize(
    "common, n_prompt, canonical, block, kept",
    [
        (0, 100, 0, 32, 0),
        (96, 96, 96, 32, 64),  # the whole prompt cached: its last token is decoded again, in its block
        (100, 100, 96, 32, 96),
        (100, 101, 96, 32, 96),
        (70, 200, 160, 32, 64),  # the divergence point is rounded down to a block
        (200, 300, 64, 32, 64),  # tokens past the canonical blocks (generated ones) are not reused
        (31, 100, 96, 32, 0),
        (40, 100, 96, 16, 32),
    ],
)
def test_aligned_prefix(common, n_prompt, canonical, block, kept):
    from rag.llm.llama import aligned_prefix

    assert aligned_prefix(common, n_prompt, canonical, block) == kept


# --- the real llama.cpp ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm_handle(smollm_path):
    from rag.llm.catalog import ModelChoice
    from rag.llm.llama import LocalHandle

    return LocalHandle(ModelChoice(smollm_path, "--model"))


@pytest.mark.llm
def test_local_model_satisfies_the_protocol(smollm_handle):
    assert isinstance(smollm_handle, ModelHandle)
    described = smollm_handle.capabilities  # from the GGUF header, before loading
    model = smollm_handle.load()
    assert isinstance(model, LanguageModel)
    assert model.capabilities == described
    assert model.capabilities.chat and model.capabilities.score
    assert 130e6 < model.capabilities.n_params < 140e6


# each longer than two blocks of llama.EVAL_BLOCK tokens: a cached prefix is reused in whole blocks
PREFIX_A = (
    "Frage: Wie viel investiert Meta in Scale AI? Antwort: 14,3 Milliarden Dollar.\n"
    "Frage: Wer gründete Scale AI? Antwort: Alexandr Wang und Lucy Guo.\n"
    "Frage: Wo hat Scale AI seinen Sitz? Antwort: In San Francisco.\n"
    "Frage: Wie viele Mitarbeiter hat Scale AI? Antwort: Rund 900.\n"
    "Frage: Wer leitet Scale AI? Antwort: Jason Droege.\nFrage: "
)
PREFIX_B = (
    "Questions people ask about companies, their leaders and what they do: who founded a company, "
    "where it is based, how many people it employs, how much money investors put into it, who "
    "leads it now and who led it before, and what it sells to whom. Question:"
)


@pytest.mark.llm
def test_restored_kv_states_give_fresh_results_and_skip_the_prefix(smollm_handle, smollm_path):
    """Prompt kinds alternate on one KV cache; the saved state of each kind is restored for
    its next prompt: the cached prefix is not evaluated again, and the results equal those of
    a model that never saw the other prompts."""
    from rag.llm.llama import LocalModel

    model = smollm_handle.load()
    writer, scorer = LocalModel(smollm_path), LocalModel(smollm_path)  # one prompt kind each: nothing restored
    runs = []
    for question in ("Wer wird Interims-CEO?", "Wie viel investiert Meta?"):
        before = dict(model.counters)
        out = Generation()
        text = "".join(model.complete(PREFIX_A + question + " Antwort:", 12, ["\n"], out))
        score = model.text_logprob(PREFIX_B, " " + question)
        evaluated = model.counters["evaluated"] - before["evaluated"]
        runs.append((text, score, out, evaluated, model.counters["prompt"] - before["prompt"]))
        assert out.prompt_tokens == model.count_tokens(PREFIX_A + question + " Antwort:")
        assert text == "".join(writer.complete(PREFIX_A + question + " Antwort:", 12, ["\n"], Generation()))
        expected = scorer.text_logprob(PREFIX_B, " " + question)
        assert score[1] == expected[1] and score[0] == pytest.approx(expected[0], abs=1e-3)
    _, _, _, evaluated, sent = runs[1]
    assert evaluated < 0.5 * sent, runs  # both prefixes came from saved states
    assert model.counters["completion"] == sum(r[2].completion_tokens for r in runs)


@pytest.mark.llm
def test_answers_scored_after_the_prompt_just_answered_decode_no_prompt(smollm_handle, smollm_path):
    """A shortlist of answers scored after the prompt the model just answered: the prompt is
    not decoded again, and each score equals a fresh model's."""
    from rag.llm.llama import LocalModel

    model = smollm_handle.load()
    texts = (" Jason Droege", " Alexandr Wang", " Lucy Guo")
    "".join(model.complete(PREFIX_B, 4, ["\n"], Generation()))  # the model answers this prompt first
    got = []
    for text in texts:
        before = model.counters["evaluated"]
        got.append((model.text_logprob(PREFIX_B, text), model.counters["evaluated"] - before))
    for text, ((score, n), _) in zip(texts, got):
        fresh = LocalModel(smollm_path).text_logprob(PREFIX_B, text)
        assert n == fresh[1] and score == pytest.approx(fresh[0], abs=1e-3)
    # each decodes its own tokens only (the last of them needs no logits): the prompt was
    # decoded to answer it, and its last logits were kept
    assert [e for _, e in got] == [n - 1 for (_, n), _ in got]
