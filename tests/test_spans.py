import pytest

from rag.evidence import answer_type
from rag.spans import rank_spans
from rag.text import analyze


@pytest.mark.parametrize("question, kind", [
    ("Wie viele Mitarbeiter hat Scale AI?", "number"),
    ("Wie hoch ist die Bewertung?", "number"),
    ("How much does Meta invest?", "number"),
    ("Wann wurde Scale AI gegründet?", "time"),
    ("In welchem Jahr verließ Guo Scale?", "time"),
    ("Wo wurde Wang geboren?", "place"),
    ("Where was Wang born?", "place"),
    ("Wer leitet Scale AI?", "person"),
    ("Who founded Scale AI?", "person"),
    ("Warum investiert Meta?", "other"),
])
def test_answer_type(question, kind):
    assert answer_type(question) == kind


@pytest.mark.parametrize("kind, question, sentence, best", [
    ("number", "Wie viele Mitarbeiter beschäftigt Scale AI?",
     "Das 2016 gegründete Unternehmen beschäftigt etwa 900 Mitarbeiter und hat bislang 1,35 Milliarden Dollar erhalten.",
     "etwa 900 Mitarbeiter"),
    ("number", "Wie viel Geld hat Scale AI erhalten?",
     "Das 2016 gegründete Unternehmen beschäftigt etwa 900 Mitarbeiter und hat bislang 1,35 Milliarden Dollar erhalten.",
     "1,35 Milliarden Dollar"),
    ("person", "Wer wird Interims-CEO von Scale AI?",
     "Ihn ersetzt der neue Interims-CEO Jason Droege, der zuvor als Chief Strategy Officer tätig war.",
     "Jason Droege"),
    ("place", "Wo wurde Alexandr Wang geboren?",
     "Wang wurde als Sohn chinesischer Einwanderer in Los Alamos im US-Bundesstaat New Mexico geboren.",
     "in Los Alamos im US-Bundesstaat New Mexico"),
    ("time", "Wann wurde Scale AI gegründet?",
     "Scale AI wurde 2016 von Wang und Lucy Guo gegründet.", "2016"),
])
def test_rank_spans_picks_the_span_next_to_the_question(kind, question, sentence, best):
    ranked = rank_spans(kind, set(analyze(question, "de")), "de", [(1, sentence, 0.5)])
    assert ranked[0].span.text == best
    assert sentence[ranked[0].span.start:ranked[0].span.end] == best


def test_years_are_not_quantities():
    ranked = rank_spans("number", {"umsatz"}, "de", [(1, "Im Jahr 2014 kaufte Meta WhatsApp.", 0.5)])
    assert all(s.span.text != "2014" for s in ranked)
