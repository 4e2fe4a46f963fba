"""The model's copied answer (extract.py): where its words stand in the sentence, which prompt
each kind of model gets, and the question's focus noun (question.focus_word) the reader
weighs beside it."""

from __future__ import annotations

import pytest

from rag.answer import prompts
from rag.answer.extract import extract, got_span, snap
from rag.answer.question import focus_word
from rag.llm.base import Generation
from rag.llm.fake import FakeModel

SENTENCE = "Ihn ersetzt der neue Interims-CEO Jason Droege, der zuvor bei Uber Eats war."


@pytest.mark.parametrize(
    "written, span",
    [
        ("Jason Droege", (34, 46)),  # verbatim
        ("jason droege", (34, 46)),  # another case
        ("Jason   Droege", (34, 46)),  # other whitespace
        ("„Jason Droege“.", (34, 46)),  # quotes and a full stop around it
        ("Uber Eats", (62, 71)),
        ("Mark Zuckerberg", None),  # not in the sentence
        ("", None),
        (" . ", None),
    ],
)
def test_snap(written, span):
    assert snap(written, SENTENCE) == span
    if span:
        assert SENTENCE[span[0] : span[1]].lower().split() == written.strip(" „“.").lower().split()


@pytest.mark.parametrize("chat, kind", [(False, "complete"), (True, "chat")])
def test_extract_gives_document_offsets(chat, kind):
    model = FakeModel(["Jason Droege\nFrage: noch eine"], chat=chat)
    got = extract(model, SENTENCE, 1000, "Wer wird Interims-CEO?", "de", Generation())
    assert (got.text, got.start, got.end) == ("Jason Droege", 1034, 1046) and got_span(got)
    assert [k for k, _ in model.calls] == [kind]
    prompt = model.calls[0][1]
    assert prompt.endswith("Frage: Wer wird Interims-CEO?\nAntwort:") if not chat else "Frage: Wer" in prompt


def test_words_the_sentence_lacks_are_kept_without_a_span():
    got = extract(FakeModel(["Mark Zuckerberg"]), SENTENCE, 0, "Wer?", "de", Generation())
    assert (got.text, got.start, got.end) == ("Mark Zuckerberg", None, None) and not got_span(got)
    assert not got_span(None)


@pytest.mark.parametrize(
    "lang, end",
    [
        ("de", "Text: Ein Satz.\nFrage: Was?\nAntwort:"),
        ("en", "Text: Ein Satz.\nQuestion: Was?\nAnswer:"),
        ("fr", "Text: Ein Satz.\nQuestion: Was?\nAnswer:"),  # no examples in French: English ones
    ],
)
def test_extract_prompt_ends_where_the_model_answers(lang, end):
    prompt = prompts.extract_prompt("Ein Satz.", "Was?", lang)
    assert prompt.endswith(end) and prompt.count("Text: ") == 4  # three examples, then the sentence


@pytest.mark.parametrize(
    "question, focus",
    [
        ("Welche Vermutung besagt, dass es unendlich viele Zwillingsprimzahlen gibt?", "Vermutung"),
        ("Wie viele Sekunden verblieben im Spiel?", "Sekunden"),
        ("Welcher deutsche Herrscher hieß die Hugenotten willkommen?", "Herrscher"),
        ("Welche Art von Ausschuss prüfte das Gesetz?", "Ausschuss"),
        ("In welcher Stadt sitzt Scale AI?", "Stadt"),
        ("Which player had the most interceptions?", "player"),
        ("How many career sacks did Jared Allen have?", "sacks"),
        ("What type of committee reviewed the law?", "committee"),
        ("What did the UK check?", None),
        ("What is the name of the company?", None),
        ("Wer leitet Scale AI?", None),
    ],
)
def test_focus_word(question, focus):
    assert focus_word(question) == focus
