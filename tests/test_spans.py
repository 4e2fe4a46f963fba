import pytest

from rag.answer.question import Question, answer_kind
from rag.answer.spans import Span, number_spans, quantity, rank_spans, trim_quote
from rag.lang.text import analyze


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Wie viele Mitarbeiter hat Scale AI?", "number"),
        ("Wie hoch ist die Bewertung?", "number"),
        ("Welchen Anteil an Scale AI erhält Meta?", "number"),
        ("How much does Meta invest?", "number"),
        ("Wann wurde Scale AI gegründet?", "time"),
        ("In welchem Jahr verließ Guo Scale?", "time"),
        ("Wo wurde Wang geboren?", "place"),
        ("Where was Wang born?", "place"),
        ("Wer leitet Scale AI?", "person"),
        ("Who founded Scale AI?", "person"),
        ("Who ran the incubator when it backed Scale?", "person"),  # the earliest question word wins
        ("Wie heißt das größte Llama-Modell?", "name"),
        ("In welcher Zeitung erschien die Anzeige?", "name"),
        ("Warum investiert Meta?", "other"),
    ],
)
def test_answer_kind(question, kind):
    assert answer_kind(question) == kind


@pytest.mark.parametrize(
    "question, unit, terms",
    [
        ("Welchen Anteil an Scale AI erhält Meta?", "percent", ["anteil", "scal", "ai", "erhalt", "meta"]),
        ("Wie viel Prozent der Investitionen fließen in Daten?", "percent", ["prozent", "invest", "fliess", "dat"]),
        ("Wie viel Geld investiert Meta?", "money", ["geld", "invest", "meta"]),
        ("Wie alt ist Alexandr Wang?", "age", ["alexandr", "wang"]),
        ("Wie viele Mitarbeiter hat Meta?", "count", ["mitarbeit", "meta"]),
    ],
)
def test_question_unit_and_terms(question, unit, terms):
    q = Question.parse(question, lambda t: 1.0)
    assert q.unit == unit
    assert list(q.terms) == terms


@pytest.mark.parametrize(
    "word, expected",
    [
        ("investiert", "invest"),
        ("Investition", "invest"),
        ("investieren", "invest"),
        ("gegründet", "grund"),
        ("Gründung", "grund"),
        ("Finanzierung", "finanz"),
        ("Geschäft", "geschaft"),
        ("Nation", "nation"),
        ("Lösung", "losung"),
        ("Zeitung", "zeitung"),
    ],
)
def test_root_joins_verbs_and_their_nouns(word, expected):
    assert analyze(word, "de") == [expected]


@pytest.mark.parametrize(
    "kind, question, sentence, best",
    [
        (
            "number",
            "Wie viele Mitarbeiter beschäftigt Scale AI?",
            "Das 2016 gegründete Unternehmen beschäftigt etwa 900 Mitarbeiter und hat bislang 1,35 Milliarden Dollar "
            "erhalten.",
            "etwa 900 Mitarbeiter",
        ),
        (
            "number",
            "Wie viel Geld hat Scale AI erhalten?",
            "Das 2016 gegründete Unternehmen beschäftigt etwa 900 Mitarbeiter und hat bislang 1,35 Milliarden Dollar "
            "erhalten.",
            "1,35 Milliarden Dollar",
        ),
        (
            "number",
            "Wie viel Prozent sollen in Rechenleistung fließen?",
            "Wang plädierte für eine Umverteilung: 60 Prozent für Rechenleistung, 30 Prozent für Daten.",
            "60 Prozent",
        ),
        (
            "person",
            "Wer wird Interims-CEO von Scale AI?",
            "Ihn ersetzt der neue Interims-CEO Jason Droege, der zuvor als Chief Strategy Officer tätig war.",
            "Jason Droege",
        ),
        (
            "person",
            "Wer hat Scale AI zusammen mit Alexandr Wang gegründet?",
            "Scale AI wurde 2016 von Wang und Lucy Guo gegründet.",
            "Lucy Guo",
        ),
        (
            "place",
            "Wo wurde Alexandr Wang geboren?",
            "Wang wurde als Sohn chinesischer Einwanderer in Los Alamos im US-Bundesstaat New Mexico geboren.",
            "in Los Alamos im US-Bundesstaat New Mexico",
        ),
        ("time", "Wann wurde Scale AI gegründet?", "Scale AI wurde 2016 von Wang und Lucy Guo gegründet.", "2016"),
    ],
)
def test_rank_spans_picks_the_span_next_to_the_question(kind, question, sentence, best):
    q = Question.parse(question, lambda t: 1.0)
    ranked = rank_spans(kind, set(q.terms), [(1, sentence, 0.5)], q.unit)
    assert ranked[0].span.text == best
    assert sentence[ranked[0].span.start : ranked[0].span.end] == best


def test_years_are_not_quantities():
    assert [s.text for s in number_spans("Im Jahr 2014 kaufte Meta WhatsApp.")] == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("14,3 Milliarden Dollar", (14.3e9, "money")),
        ("fast 15 Milliarden Dollar", (15e9, "money")),
        ("49 Prozent", (49.0, "percent")),
        ("28 Jahren", (28.0, "age")),
        ("etwa 900 Mitarbeiter", (900.0, "count")),
        ("zwei Milliarden", None),
    ],
)
def test_quantity(text, expected):
    got = quantity(text, "de")
    assert got == (pytest.approx(expected[0]), expected[1]) if expected else got is None


def test_trim_quote_keeps_the_clause_with_the_answer():
    s = (
        "Wang wurde als Sohn chinesischer Einwanderer in Los Alamos geboren, und seine Eltern, beide Physiker, "
        "arbeiteten im National Laboratory, einem Forschungslabor der US-Regierung, in dem einst die erste "
        "Atombombe entwickelt wurde."
    )
    short = trim_quote(s, 12, Span("Physiker", s.index("Physiker"), s.index("Physiker") + 8), set())
    assert "Physiker" in short and len(short.split()) <= 14 and short.startswith("…")
    assert trim_quote("Kurzer Satz.", 12, None, set()) == "Kurzer Satz."
