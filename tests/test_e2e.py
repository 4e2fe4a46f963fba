"""End to end with the real MiniLM embedder and the real Gemma 3 270M GGUF over seeds/."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, ask_json

from rag.cli import main
from rag.lang.text import fold

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["use", "minilm"])
def any_index(request, seeds_index, seeds_index_minilm):
    """The required questions must work with both real embedders."""
    return seeds_index if request.param == "use" else seeds_index_minilm


@pytest.mark.parametrize(
    "question, fact, source",
    [
        ("Wer wird Interims-CEO von Scale AI?", "Jason Droege", "004_a2122adb65b12522.txt"),
        ("Wo wurde Alexandr Wang geboren?", "Los Alamos", "000_ed323026b9e620f8.txt"),
        ("Wie viele Mitarbeiter beschäftigt Scale AI?", "900", "002_ddd515a157be102d.txt"),
    ],
)
@pytest.mark.llm
def test_answers_with_the_fact_and_cites_the_file(any_index, question, fact, source):
    out = ask_json(any_index, question)
    assert not out["abstained"]
    assert fold(fact) in fold(out["answer"])
    cited = [c["source"] for c in out["citations"]]
    assert any(c.endswith(source) for c in cited), cited
    for c in out["citations"]:
        text = Path(c["source"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["quote"], "a citation quotes its file exactly"
        assert f"[{c['id']}]" in out["answer"], "every citation listed is used in the answer"


@pytest.mark.llm
def test_abstains_when_the_sources_do_not_say(any_index):
    out = ask_json(any_index, "Wie hoch war der Umsatz von Meta im Jahr 2019?")
    assert out["abstained"] is True
    assert out["citations"] == []
    assert "Quellen" in out["answer"]


@pytest.mark.llm
def test_json_contract(seeds_index):
    out = ask_json(seeds_index, "Wie viel investiert Meta in Scale AI?")
    assert set(out) >= {"question", "answer", "abstained", "citations", "retrieved", "timings"}
    assert isinstance(out["answer"], str) and isinstance(out["abstained"], bool)
    for c in out["citations"]:
        assert set(c) == {"id", "source", "start", "end", "quote"}
        assert isinstance(c["id"], int) and c["source"].startswith(str(ROOT / "seeds"))
    assert len(out["retrieved"]) == 5
    for r in out["retrieved"]:
        assert set(r) == {"source", "start", "end", "score"}
    assert set(out["timings"]) >= {"retrieve_ms", "generate_ms", "total_ms", "prompt_tokens", "completion_tokens"}
    assert out["timings"]["prompt_tokens"] > 0


@pytest.mark.llm
def test_english_question_over_german_sources(seeds_index):
    out = ask_json(seeds_index, "Who becomes interim CEO of Scale AI?")
    assert "Droege" in out["answer"]
    assert any(c["source"].endswith("004_a2122adb65b12522.txt") for c in out["citations"])


@pytest.mark.llm
def test_terminal_output_lists_sources_and_reports_gpu(seeds_index):
    result = CliRunner().invoke(main, ["ask", "Wo wurde Alexandr Wang geboren?", "--index", str(seeds_index), "-v"])
    assert result.exit_code == 0, result.output
    assert "Los Alamos" in result.stdout
    assert "Sources:" in result.stdout
    assert "000_ed323026b9e620f8.txt:" in result.stdout
    assert "gpu offload:" in result.stderr


@pytest.mark.llm
def test_instruct_model_uses_its_chat_template(seeds_index, smollm_path):
    result = CliRunner().invoke(
        main,
        ["ask", "Who becomes interim CEO of Scale AI?", "--index", str(seeds_index), "--model", str(smollm_path), "-v"],
    )
    assert result.exit_code == 0, result.output
    assert "chat template" in result.stderr
    assert "SmolLM2" in result.stderr
    assert "Droege" in result.stdout


@pytest.mark.llm
def test_gguf_in_models_folder_is_used(seeds_index, smollm_path, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "smol.gguf").symlink_to(smollm_path)
    result = CliRunner().invoke(
        main,
        ["ask", "Wo wurde Alexandr Wang geboren?", "--index", str(seeds_index), "-v"],
        env={**os.environ, "RAG_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "models" / "smol.gguf") in result.stderr


@pytest.fixture(scope="module")
def generating(seeds_index):
    """An answerer that lets the (small) model write every answer, so its output is checked."""
    from rag import app
    from rag.config import load_settings

    return app.open_answerer(load_settings(index=seeds_index, generate="always"))


@pytest.mark.llm
def test_invented_number_is_replaced_by_the_evidence(generating):
    from rag.answer.citations import check_grounding
    from rag.cli.render import answer_text
    from rag.types import Passage

    answer = generating.ask("Wie viele aktive Nutzer hat Meta AI monatlich?")
    model_said = answer.trace["model"]
    cited = [Passage(c.id, c.source, c.start, c.end, c.quote) for c in answer.citations]
    assert not check_grounding(model_said, cited).ok, f"the model got it right this time: {model_said!r}"
    assert answer.mode == "extractive"
    text = answer_text(answer)
    assert "Milliarde" in text and model_said not in text


@pytest.mark.llm
def test_conflicting_figures_are_reported_with_both_sources(seeds_index):
    out = ask_json(seeds_index, "Mit welchem Wert wird Scale AI durch den Einstieg von Meta bewertet?")
    assert out["conflict"] is True and out["mode"] == "extractive"
    assert "29 Milliarden" in out["answer"] and "30 Milliarden" in out["answer"]
    by_value = {("29" if "29" in c["quote"] else "30"): c["source"] for c in out["citations"]}
    assert by_value["30"].endswith("002_ddd515a157be102d.txt")
    assert by_value["29"].endswith(("001_6b933f934256e5b5.txt", "004_a2122adb65b12522.txt"))


@pytest.mark.parametrize(
    "question",
    [
        "Wie hoch war der Umsatz von Meta im Jahr 2019?",
        # Known defect (#14): the learned abstention answers this near miss with Meta's
        # 14,3 Milliarden (its dev data teaches whole missing articles, not a missing figure
        # beside the right topic). Strict: the test must be restored once it abstains.
        pytest.param(
            "How much did Amazon pay in its deal with the startup Adept?",
            marks=pytest.mark.xfail(strict=True, reason="near-miss unanswerable answered (#14)"),
        ),
    ],
)
@pytest.mark.llm
def test_unanswerable_questions_abstain(seeds_index, question):
    out = ask_json(seeds_index, question)
    assert out["abstained"] is True and out["mode"] == "abstained" and out["citations"] == []


@pytest.mark.llm
def test_chat_model_writes_through_its_template_and_is_checked(seeds_index, smollm_path):
    from rag import app
    from rag.cli.render import answer_text
    from rag.config import load_settings

    answerer = app.open_answerer(load_settings(index=seeds_index, model=str(smollm_path), generate="always"))
    answer = answerer.ask("Who becomes interim CEO of Scale AI?")
    assert answerer.model.capabilities.chat and answer.timings["completion_tokens"] > 0
    assert "Droege" in answer_text(answer)
    for c in answer.citations:
        text = Path(c.source).read_text(encoding="utf-8")
        assert text[c.start : c.end] == c.quote


NOT_YET = pytest.mark.xfail(strict=True, reason="answered wrong today (#14)")


# The phrasings of issue #14, as a new user asked them (the first was always right). Strict
# xfails: a row that starts passing must be moved up.
@pytest.mark.parametrize(
    "question, fact",
    [
        ("Wie viele Mitarbeiter beschäftigt Scale AI?", "900"),
        ("Wie viele Mitarbeiter hat Scale AI?", "900"),  # the best sentence speaks of freelancers, no number
        ("How many employees does Scale AI have?", "900"),
        ("Wo hat Alexandr Wang studiert?", "MIT"),  # "am MIT": an acronym, not the stopword "mit"
        ("In welcher Stadt sitzt Scale AI?", "San Francisco"),  # the corpus knows "Sitz", not "sitzt"
        pytest.param("Was sind Wangs Eltern von Beruf?", "Physiker", marks=NOT_YET),
        pytest.param("When did Lucy Guo leave Scale AI?", "2018", marks=NOT_YET),
    ],
)
@pytest.mark.llm
def test_questions_asked_differently(seeds_index, question, fact):
    out = ask_json(seeds_index, question)
    assert not out["abstained"]
    assert out["short"] and fact in out["short"]["text"]


@pytest.fixture(scope="module")
def seeds_answerer(seeds_index):
    from rag import app
    from rag.config import load_settings

    return app.open_answerer(load_settings(index=seeds_index))


@pytest.mark.parametrize(
    "previous, answer, fact",
    [
        # "er" is whom the answer before named: the sources say where Wang was born, not Droege.
        # However the short answer came out (its copy varies with the CPU), no birthplace
        ("Wer wird Interims-CEO von Scale AI?", "Jason Droege", None),
        ("Wer wird Interims-CEO von Scale AI?", "Droege", None),
        ("Wer wird Interims-CEO von Scale AI?", "Interims-CEO Jason Droege", None),
        ("Wer gründete Scale AI?", "Alexandr Wang", "Los Alamos"),
        ("Wer gründete Scale AI?", "Wang", "Los Alamos"),
    ],
)
@pytest.mark.llm
def test_a_follow_up_is_answered_about_whom_it_means(seeds_answerer, previous, answer, fact):
    from rag.cli.render import answer_text
    from rag.types import Turn

    out = seeds_answerer.ask("Und wo wurde er geboren?", previous=Turn(previous, answer))
    if fact is None:
        assert out.abstained and out.citations == [], answer_text(out)
    else:
        assert not out.abstained and fact in answer_text(out)
