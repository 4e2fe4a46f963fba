import pytest

from rag.lang.text import detect_language, fold, sentence_spans


def sentences(text):
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Meta investiert 14,3 Milliarden Dollar. Das ist viel.",
            ["Meta investiert 14,3 Milliarden Dollar.", "Das ist viel."],
        ),
        ("Das gilt z. B. für Scale AI. Wang ist 28.", ["Das gilt z. B. für Scale AI.", "Wang ist 28."]),
        (
            "Der Deal wurde am 14. Juni bekannt. Danach stieg der Kurs.",
            ["Der Deal wurde am 14. Juni bekannt.", "Danach stieg der Kurs."],
        ),
        ("Er sagte: „Wir gewinnen.“ Dann ging er.", ["Er sagte: „Wir gewinnen.“", "Dann ging er."]),
        (
            "Scale AI im Überblick\nDas Unternehmen hat 900 Mitarbeiter.",
            ["Scale AI im Überblick", "Das Unternehmen hat 900 Mitarbeiter."],
        ),
        ("Dr. Müller kam 2016. Prof. Meier ging.", ["Dr. Müller kam 2016.", "Prof. Meier ging."]),
        ("Is it 3.5 billion? Yes! It is.", ["Is it 3.5 billion?", "Yes!", "It is."]),
        ("", []),
    ],
)
def test_sentence_spans(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Wie viel investiert Meta in Scale AI?", "de"),
        ("How much does Meta invest in Scale AI?", "en"),
        ("Wo wurde Alexandr Wang geboren?", "de"),
        ("Who is the interim CEO?", "en"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_fold_spells_out_umlauts():
    assert fold("Größe") == fold("GROESSE") == "groesse"
