"""Every branch of the answer stage, driven by FakeModel over a tiny real index (USE
embedder, no GGUF): each test takes well under a second once the index is built."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answer import prompts
from rag.answer.pipeline import Answerer
from rag.answer.policy import FOLLOW_UP_OTHER_PERSON, FOLLOW_UP_UNANSWERED, check_follow_up, turn_of
from rag.answer.question import Question
from rag.cli.render import answer_json, answer_text
from rag.config import Settings
from rag.llm.fake import FakeHandle, FakeModel
from rag.types import Answer, Chunk, Citation, ConflictValue, Hit, Quote, ShortAnswer, Turn, answer_from_json

ARTICLES = {
    "scale.txt": "Meta investiert 14,3 Milliarden Dollar in das Start-up Scale AI. "
    "Der Gründer Alexandr Wang wechselt zu Meta. "
    "Ihn ersetzt der neue Interims-CEO Jason Droege. "
    "Scale AI wurde 2016 in San Francisco gegründet.",
    "bericht.txt": "Laut anderen Berichten investiert Meta 14,8 Milliarden Dollar in Scale AI.",
    "wang.txt": "Alexandr Wang wurde in Los Alamos im US-Bundesstaat New Mexico geboren. "
    "Seine Eltern arbeiteten als Physiker am Forschungslabor.",
    "baeckerei.txt": "Die Bäckerei am Hafen verkauft jeden Morgen frisches Brot. "
    "Sie öffnet um sechs Uhr und schließt am Nachmittag.",
}


def explains_well(prefix: str, text: str) -> float:
    """Log-probability per token: the question is far likelier after the evidence (pmi 2)."""
    return -1.0 if prefix.startswith("Text:") else -3.0


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    from rag import app

    root = tmp_path_factory.mktemp("tiny")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(index=root / "index")
    app.index([corpus], settings)
    return app.open_retriever(settings)


def answerer(retriever, model: FakeModel, **settings) -> Answerer:
    return Answerer(Settings(index=Path("unused"), **settings), retriever, FakeHandle(model))


def extracting(prompt: str) -> bool:
    """Is this the prompt asking the model to copy a short answer from a sentence (extract.py)?"""
    return prompt.startswith("Text: ") or prompt.startswith(tuple(prompts.EXTRACT_INSTRUCTION.values()))


def replying(answer: str = "", copy: str = ""):
    """A model that copies `copy` when asked to extract and writes `answer` when asked to answer."""
    return lambda prompt: copy if extracting(prompt) else answer


def written(model: FakeModel) -> list[str]:
    """The prompts the model answered other than extraction ones."""
    return [p for kind, p in model.calls if kind in ("complete", "chat") and not extracting(p)]


def small(replies=(), score=explains_well) -> FakeModel:
    """Like the default Gemma 3 270M: a base model, too small to be trusted with answers."""
    return FakeModel(replies, score=score)


def trusted_chat(replies=()) -> FakeModel:
    return FakeModel(replies, score=explains_well, chat=True, n_params=3_000_000_000)


# ---------------------------------------------------------------- abstaining


def test_weak_evidence_abstains(retriever):
    model = small()
    answer = answerer(retriever, model).ask("Wie heißt der Hund der Bundeskanzlerin?")
    assert answer.abstained and answer.mode == "abstained" and answer.citations == []
    assert answer.reason and answer.confidence is not None
    assert answer_text(answer) == "Die Quellen sagen dazu nichts."
    # the reader decided: the model only tried to copy an answer, it scored and wrote nothing
    assert all(extracting(p) for _, p in model.calls)


# ---------------------------------------------------------------- extracting


def test_a_clear_short_answer_leads_the_quote(retriever):
    model = small()
    answer = answerer(retriever, model).ask("Wer wird Interims-CEO von Scale AI?")
    assert answer.mode == "extractive" and not answer.abstained and answer.text == ""
    assert answer.short is not None and answer.short.text == "Jason Droege"
    assert answer.quote == Quote("Ihn ersetzt der neue Interims-CEO Jason Droege.", 1)
    cited = answer.citations[0]
    assert cited.source.endswith("scale.txt")
    # the short answer's offsets point into the cited document
    document = ARTICLES["scale.txt"]
    assert document[answer.short.start : answer.short.end] == "Jason Droege"
    assert answer_text(answer) == "Jason Droege – „Ihn ersetzt der neue Interims-CEO Jason Droege.“ [1]"
    assert written(model) == []  # a small model writes no answer by default


def test_a_short_answer_the_model_names_too_is_its_answer(retriever):
    model = small(replying("Jason Droege [1]", "Jason Droege"))
    answer = answerer(retriever, model, generate="always").ask("Wer wird Interims-CEO von Scale AI?")
    assert answer.mode == "generated"  # the model chose it, checked against the evidence
    assert answer.short.text == "Jason Droege" and answer.quote.citation == 1 and answer.text == ""


def test_a_trusted_models_checked_answer_is_the_answer(retriever):
    model = trusted_chat(replying("Jason Droege ist der neue Interims-CEO [1]", "Jason Droege"))
    answer = answerer(retriever, model).ask("Wer wird Interims-CEO von Scale AI?")
    assert answer.mode == "generated" and answer.quote is None
    assert answer.text == "Jason Droege ist der neue Interims-CEO [1]"
    # its words name the reader's pick, which stays the short answer, at its place in the source
    assert answer.short.text == "Jason Droege" and answer.short.text in answer.citations[0].quote
    assert "Jason Droege" in answer.citations[0].quote
    assert answer_text(answer) == answer.text
    assert answer.timings["completion_tokens"] == 7 + 2  # its answer, and the span it copied


def test_a_trusted_models_own_answer_gets_the_short_answer_it_names(retriever):
    # the reader would pick "Los Alamos"; the model answers with the state, which the
    # passage it cites holds: the short answer is the scorer's best of what the model names
    model = trusted_chat(replying("Er stammt aus dem US-Bundesstaat New Mexico [1]", "Los Alamos"))
    answer = answerer(retriever, model).ask("Wo wurde Alexandr Wang geboren?")
    assert answer.mode == "generated" and answer.text == "Er stammt aus dem US-Bundesstaat New Mexico [1]"
    assert answer.short is not None and answer.short.text == "US-Bundesstaat New Mexico"
    assert ARTICLES["wang.txt"][answer.short.start : answer.short.end] == "US-Bundesstaat New Mexico"


def test_a_number_the_cited_passage_lacks_falls_back_to_the_quote(retriever):
    model = trusted_chat(replying("Scale AI wurde 2017 gegründet [1]", "2016"))
    answer = answerer(retriever, model).ask("Wann wurde Scale AI gegründet?")
    assert answer.mode == "extractive" and answer.text == ""
    assert answer.quote is not None and "2016" in answer.quote.text
    assert "2017" not in answer_text(answer)


def test_differing_values_are_reported_with_their_sources(retriever):
    answer = answerer(retriever, small()).ask("Wie viel investiert Meta in Scale AI?")
    assert answer.conflict and answer.mode == "extractive"
    values = {v.value: answer.citations[v.citation - 1].source.rsplit("/", 1)[-1] for v in answer.conflict_values}
    assert values == {"14,3 Milliarden Dollar": "scale.txt", "14,8 Milliarden Dollar": "bericht.txt"}
    assert answer_text(answer).startswith("Die Quellen nennen unterschiedliche Werte: ")
    # the JSON's short answer is the first value, at its place in the first cited file
    first = answer.citations[answer.conflict_values[0].citation - 1]
    assert answer.conflict_values[0].value.startswith(answer.short.text)
    assert first.start <= answer.short.start < answer.short.end <= first.end


# ---------------------------------------------------------------- reading the question


def translating(translation: str):
    """A model that translates (its reply to the translation prompt) and writes nothing else."""
    return lambda prompt: translation if prompt.rstrip().endswith("Deutsch:") else ""  # copies nothing either


def test_a_plausible_translation_supplies_the_terms(retriever):
    a = answerer(retriever, small(translating("Wer wird Interims-CEO von Scale AI?")))
    read = a.read("Who becomes interim CEO of Scale AI?")
    assert read.cross_lingual and read.translation == "Wer wird Interims-CEO von Scale AI?"
    assert read.question.lang == "en" and read.query.lang == "en"
    assert any(t.startswith("interim") and w > 0 for t, w in read.question.terms.items())
    answer = a.ask("Who becomes interim CEO of Scale AI?")
    assert answer.trace["cross_lingual"] and "Jason Droege" in answer_text(answer)


def test_a_translation_that_loses_the_names_is_not_used(retriever):
    question = "Who becomes interim CEO of Scale AI?"
    read = answerer(retriever, small(translating("Wer wird der Chef?"))).read(question)
    assert read.cross_lingual and read.translation is None
    # the question's own terms, of which only those the corpus knows carry weight
    lex = retriever.index.lexical
    assert set(read.question.terms) == set(Question.parse(question, lex.idf).terms)
    assert {t for t, w in read.question.terms.items() if w > 0} == set(filter(lex.knows, read.question.terms))
    assert any(w == 0 for w in read.question.terms.values())


def test_no_translation_when_switched_off(retriever):
    model = small(translating("Wer wird Interims-CEO von Scale AI?"))
    read = answerer(retriever, model, translate=False).read("Who becomes interim CEO of Scale AI?")
    assert read.translation is None and model.calls == []


def test_retrieval_reads_the_parsed_query(retriever):
    """The Query the pipeline builds is what retrieval would build from the string."""
    a = answerer(retriever, small())
    question = "Wie viel investiert Meta in Scale AI?"
    assert a.read(question).query == retriever.query(question)
    assert [h.chunk for h in retriever.search(a.read(question).query, 3)] == [
        h.chunk for h in retriever.search(question, 3)
    ]


# ---------------------------------------------------------------- baseline


@pytest.mark.parametrize(
    "reply, mode, cited",
    [
        ("Jason Droege [2]", "generated", 1),
        ("Die Quellen sagen dazu nichts.", "abstained", 0),
        ("", "abstained", 0),
    ],
)
def test_baseline_takes_the_models_answer_as_it_is(retriever, reply, mode, cited):
    model = small(replying(reply))
    answer = answerer(retriever, model).ask("Wer wird Interims-CEO von Scale AI?", strategy="baseline")
    assert answer.mode == mode and len(answer.citations) == cited
    assert answer_text(answer) == (reply.replace("[2]", "[1]") or "Die Quellen sagen dazu nichts.")


# ---------------------------------------------------------------- follow-ups


def test_a_follow_up_is_completed_from_the_previous_turn(retriever):
    previous = Turn("Wer gründete Scale AI?", "Alexandr Wang")
    answer = answerer(retriever, small()).ask("Und wo wurde er geboren?", previous=previous)
    assert answer.rewritten_from == "Und wo wurde er geboren?"
    assert answer.question.startswith("Und wo wurde er geboren? (") and "Wang" in answer.question
    assert not answer.abstained and "Los Alamos" in answer_text(answer)


def test_a_follow_up_whose_own_words_the_evidence_lacks_abstains(retriever):
    previous = Turn("Wer wird Interims-CEO von Scale AI?", "Jason Droege")
    answer = answerer(retriever, small()).ask("Und wo wurde er geboren?", previous=previous)
    assert "Jason Droege" in answer.question
    assert answer.abstained and answer.reason == FOLLOW_UP_UNANSWERED and answer.citations == []
    assert answer_text(answer) == "Die Quellen sagen dazu nichts."


WANG = "Wang wurde in Los Alamos geboren."
OTHER = FOLLOW_UP_OTHER_PERSON


def cited(sentence: str, chunk: str) -> Answer:
    start = chunk.index(sentence)
    cite = Citation(1, "a.txt", 10 + start, 10 + start + len(sentence), sentence)
    hit = Hit(Chunk("a.txt", 10, 10 + len(chunk), chunk), 1.0)
    return Answer("Und wo wurde er geboren? (Droege Scale AI)", "", False, "extractive", [cite], [hit], lang="de")


@pytest.mark.parametrize(
    "previous_answer, sentence, chunk, reason",
    [
        # "er" is Droege; the sources say where Wang was born, not where Droege was
        ("Droege", WANG, WANG + " Seine Eltern sind Physiker.", OTHER.format("Droege")),
        ("Jason Droege", WANG, WANG, OTHER.format("Jason Droege")),
        # the chunk names him, the sentence says "er"
        ("Droege", "Er wurde in Ohio geboren.", "Jason Droege leitet Scale AI. Er wurde in Ohio geboren.", ""),
        ("Droege", "Droege wurde in Ohio geboren.", "Droege wurde in Ohio geboren.", ""),
        # the follow-up's own word is missing: that reason comes first
        ("Droege", "Ihn ersetzt Jason Droege.", "Ihn ersetzt Jason Droege.", FOLLOW_UP_UNANSWERED),
        # an abstained previous turn named no one: no person to check
        (None, WANG, WANG, ""),
    ],
)
def test_a_follow_up_about_the_person_answered_is_not_answered_about_another(previous_answer, sentence, chunk, reason):
    previous = Turn("Wer wird Interims-CEO von Scale AI?", previous_answer)
    answer = cited(sentence, chunk)
    answer.rewritten_from = "Und wo wurde er geboren?"
    checked = check_follow_up("Und wo wurde er geboren?", answer, previous)
    assert checked.reason == reason
    assert checked.abstained is bool(reason) and (checked.citations == []) is bool(reason)


def test_switching_the_model(retriever):
    a = answerer(retriever, small())
    big = trusted_chat(replying("Jason Droege ist der neue Interims-CEO [1]", "Jason Droege"))
    a.use_model(replace(a.settings, generate="auto"), FakeHandle(big))
    assert a.generates() and a.ask("Wer wird Interims-CEO von Scale AI?").mode == "generated"


# ---------------------------------------------------------------- parts, text and JSON


def answer_of(**parts) -> Answer:
    cites = [Citation(1, "a.txt", 0, 10, "Ihn ersetzt Jason Droege."), Citation(2, "b.txt", 5, 9, "14,8")]
    return Answer(
        "Wer?", parts.pop("text", ""), parts.pop("abstained", False), parts.pop("mode", "extractive"), cites, **parts
    )


@pytest.mark.parametrize(
    "answer, text",
    [
        (
            answer_of(
                lang="de", short=ShortAnswer("Jason Droege", 12, 24), quote=Quote("Ihn ersetzt Jason Droege.", 1)
            ),
            "Jason Droege – „Ihn ersetzt Jason Droege.“ [1]",
        ),
        (answer_of(lang="en", quote=Quote("He is replaced.", 2)), '"He is replaced." [2]'),
        (
            answer_of(lang="en", conflict_values=[ConflictValue("14.3 billion", 1), ConflictValue("14.8 billion", 2)]),
            "The sources give different figures: 14.3 billion [1]; 14.8 billion [2].",
        ),
        (answer_of(lang="de", text="Jason Droege [1]", mode="generated"), "Jason Droege [1]"),
        (answer_of(lang="en", abstained=True, mode="abstained"), "The sources don't say."),
    ],
)
def test_answer_text(answer, text):
    assert answer_text(answer) == text


@pytest.mark.parametrize(
    "answer",
    [
        answer_of(
            lang="de",
            short=ShortAnswer("Jason Droege", 12, 24),
            quote=Quote("Ihn ersetzt Jason Droege.", 1),
            confidence=0.812,
            reason="",
            timings={"total_ms": 1.0},
            warnings=["cut"],
        ),
        answer_of(lang="en", conflict_values=[ConflictValue("14.3 billion", 1), ConflictValue("14.8 billion", 2)]),
        answer_of(lang="de", abstained=True, mode="abstained", reason=FOLLOW_UP_UNANSWERED, rewritten_from="Und wo?"),
    ],
)
def test_json_round_trips(answer):
    sent = json.loads(json.dumps(answer_json(answer), ensure_ascii=False))
    assert answer_from_json(sent) == answer
    assert answer_json(answer_from_json(sent)) == sent
    assert sent["answer"] == answer_text(answer) and sent["conflict"] is answer.conflict


def test_an_older_servers_json_keeps_its_text():
    old = {
        "question": "Wer?",
        "answer": "Jason Droege – „Ihn ersetzt Jason Droege.“ [1]",
        "abstained": False,
        "mode": "extractive",
        "citations": [],
    }
    assert answer_text(answer_from_json(old)) == old["answer"]


@pytest.mark.parametrize(
    "answer, words",
    [
        (answer_of(short=ShortAnswer("Jason Droege"), quote=Quote("Ihn ersetzt Jason Droege.", 1)), "Jason Droege"),
        (answer_of(quote=Quote("Ihn ersetzt Jason Droege.", 1)), "Ihn ersetzt Jason Droege."),
        (answer_of(text="Jason Droege [1]", mode="generated"), "Jason Droege [1]"),
        (answer_of(abstained=True, mode="abstained"), None),
    ],
)
def test_turn_of_an_answer(answer, words):
    assert turn_of(answer) == Turn("Wer?", words)
