"""The lexicon (rag/lang/lexicon.py) and the text primitives that read it, by tables."""

import re

import pytest

from rag.answer.spans import number_spans, quantity
from rag.eval.metrics import normalize_answer
from rag.lang.lexicon import ALL_STOPWORDS, CITATION_MARKER, NUMBER, QUESTION_WORDS, STOPWORDS, YEAR
from rag.lang.text import canonical_words, content_words, marker_ids, normalize_number, numbers, scale


@pytest.mark.parametrize(
    "word, lang, factor",
    [
        ("Tausend", "de", 1e3),
        ("Million", "de", 1e6),
        ("Millionen", "de", 1e6),
        ("Mio.", "de", 1e6),
        ("Milliarde", "de", 1e9),
        ("Milliarden", "de", 1e9),
        ("Mrd.", "de", 1e9),
        ("mrd", "de", 1e9),
        ("Billion", "de", 1e12),
        ("Billionen", "de", 1e12),
        ("thousand", "en", 1e3),
        ("million", "en", 1e6),
        ("billion", "en", 1e9),
        ("trillion", "en", 1e12),
        # a word only the other language has is read as that language reads it
        ("trillion", "de", 1e12),
        ("Milliarden", "en", 1e9),
        ("Billionen", "en", 1e12),
        ("Dollar", "de", 1.0),
        ("Mitarbeiter", "en", 1.0),
    ],
)
def test_scale(word, lang, factor):
    assert scale(word, lang) == factor


@pytest.mark.parametrize(
    "text, lang, value, unit",
    [
        ("1,5 Billionen Dollar", "de", 1.5e12, "money"),
        ("eine Billion", "de", None, None),  # no digits: not a value to compare
        ("1 Billion Euro", "de", 1e12, "money"),
        ("1.5 billion dollars", "en", 1.5e9, "money"),
        ("2 trillion dollars", "en", 2e12, "money"),
        ("14,3 Milliarden US-Dollar", "de", 14.3e9, "money"),
        ("3 Mrd. Euro", "de", 3e9, "money"),
        ("4,2 Mio. Menschen", "de", 4.2e6, "count"),
        ("20 million people", "en", 2e7, "count"),
        ("5 Tausend", "de", 5e3, "count"),
        ("49 Prozent", "de", 49.0, "percent"),
        ("28 years", "en", 28.0, "age"),
    ],
)
def test_quantity_reads_scales_in_the_texts_language(text, lang, value, unit):
    got = quantity(text, lang)
    if value is None:
        assert got is None
    else:
        assert got == (pytest.approx(value), unit)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("14,3", "14.3"),
        ("14.3", "14.3"),
        ("1,35", "1.35"),  # a decimal in either language
        ("1.000", "1000"),
        ("1,000", "1000"),
        ("1.300", "1300"),  # a thousands group in either language
        ("1.000.000", "1000000"),
        ("2,000,000", "2000000"),
        ("1,000.5", "1000.5"),
        ("1.000,5", "1000.5"),
        ("1.234,5678", "1234.5678"),
        ("900", "900"),
    ],
)
def test_normalize_number(raw, expected):
    assert normalize_number(raw) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Meta zahlt 14,3 Milliarden für 49 Prozent.", {"14.3", "49"}),
        ("It paid $1,000.5 on 3.5.", {"1000.5", "3.5"}),
        ("keine Zahl", set()),
    ],
)
def test_numbers(text, expected):
    assert numbers(text) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("14,3", "14,3"),
        ("1.000.000 Euro", "1.000.000"),
        ("Seite 7.", "7"),
        ("v2", "2"),
    ],
)
def test_number_pattern(text, match):
    assert NUMBER.search(text).group() == match


@pytest.mark.parametrize(
    "text, is_year",
    [
        ("1500", True),
        ("1999", True),
        ("2024", True),
        ("2099", True),
        ("1499", False),
        ("2100", False),
        ("900", False),
        ("20245", False),
    ],
)
def test_year(text, is_year):
    assert bool(YEAR.fullmatch(text)) is is_year


@pytest.mark.parametrize(
    "text, years",
    [
        ("Gegründet 2016, verkauft im Jahr 2025.", ["2016", "2025"]),
        ("Die Zahl 120245 ist kein Jahr.", []),
    ],
)
def test_year_in_text(text, years):
    assert YEAR.findall(text) == years


def test_years_are_not_quantities_but_scaled_years_are_counts():
    assert [s.text for s in number_spans("Im Jahr 2014 kaufte Meta WhatsApp.")] == []
    assert [s.text for s in number_spans("Es kostet 2014 Milliarden Euro.")] == ["2014 Milliarden Euro"]


@pytest.mark.parametrize(
    "word, lang, member",
    [
        ("der", "de", True),
        ("und", "de", True),
        ("the", "en", True),
        ("according", "en", True),
        ("the", "de", False),
        ("und", "en", False),
        ("Meta", "de", False),
    ],
)
def test_stopwords_per_language(word, lang, member):
    assert (word.lower() in STOPWORDS[lang]) is member


@pytest.mark.parametrize(
    "word, member",
    [("der", True), ("the", True), ("wieviel", True), ("much", True), ("meta", False), ("milliarden", False)],
)
def test_stopword_union(word, member):
    assert (word in ALL_STOPWORDS) is member
    assert ALL_STOPWORDS == STOPWORDS["de"] | STOPWORDS["en"]


@pytest.mark.parametrize(
    "question, words",
    [
        ("Wie viel investiert Meta in Scale AI?", ["investiert", "Meta", "Scale", "AI"]),
        ("Whose company did Meta buy?", ["company", "Meta", "buy"]),
    ],
)
def test_content_words_drop_stopwords_and_question_words(question, words):
    assert content_words(question) == words
    assert "whose" in QUESTION_WORDS


@pytest.mark.parametrize(
    "text, markers",
    [
        ("Meta zahlt 14,3 Milliarden [1].", [[1]]),
        ("Beide nennen es [1, 2] und [3;4].", [[1, 2], [3, 4]]),
        ("Mit Leerzeichen [ 2 ,3 ].", [[2, 3]]),
        ("Keine Marker: [a], [], (1).", []),
    ],
)
def test_citation_marker(text, markers):
    assert [marker_ids(m) for m in CITATION_MARKER.finditer(text)] == markers


@pytest.mark.parametrize(
    "lang, word, canonical",
    [
        (None, "milliarden", "billion"),
        (None, "mrd", "billion"),
        (None, "mio", "million"),
        (None, "billionen", "trillion"),
        (None, "billion", "billion"),
        ("en", "billion", "billion"),
        ("de", "billion", "trillion"),
        ("de", "milliarde", "billion"),
        (None, "prozent", "percent"),
        (None, "usd", "dollar"),
        (None, "tausend", "thousand"),
    ],
)
def test_canonical_words(lang, word, canonical):
    assert canonical_words(lang)[word] == canonical


@pytest.mark.parametrize(
    "text, lang, normal",
    [
        ("1 Billion Euro", "de", "1 trillion euro"),
        ("1 billion dollars", "en", "1 billion dollar"),
        ("1 Billion Euro", None, "1 billion euro"),  # language unknown: as before
        ("eine Milliarde Dollar", "de", "1 billion dollar"),
        ("3 Mrd. US-Dollar", "de", "3 billion dollar"),
        ("1,5 Billionen", None, "1.5 trillion"),
    ],
)
def test_metrics_read_scales_like_quantity(text, lang, normal):
    assert normalize_answer(text, lang) == normal


def test_one_german_trillion_is_one_english_trillion():
    assert normalize_answer("1 Billion Euro", "de") == normalize_answer("1 trillion euro", "en")
    assert quantity("1 Billion Euro", "de")[0] == quantity("1 trillion euros", "en")[0]


def test_every_scale_word_is_a_number_span_scale():
    # number_spans and quantity read the same table: each scale word is part of the span
    for word in ("Tausend", "Millionen", "Mio.", "Milliarden", "Mrd.", "Billionen", "billion", "trillion"):
        spans = number_spans(f"Es sind 3 {word} Euro.")
        assert [s.text for s in spans] == [f"3 {word} Euro"], word
        assert re.search(r"\d", spans[0].text)
