"""Properties that must hold for any input (hypothesis): offsets slice back to their text,
citations come only from the prompt, normalisation is idempotent, streamed reading loses
nothing."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer.citations import parse_citations, renumber
from rag.eval.metrics import normalize_answer
from rag.ingest.chunking import chunk_document
from rag.ingest.corpus import SourceFile, windows
from rag.lang.text import fold, normalize_number, sentence_spans
from rag.types import Document

# text shaped like articles: words, umlauts, numbers, abbreviations, sentence ends, blank
# lines, hard wraps, quotes
PIECES = st.sampled_from(
    [
        "Meta",
        "investiert",
        "14,3",
        "Mrd.",
        "Dollar",
        "z. B.",
        "Scale AI",
        "Größe",
        "über",
        "Wang.",
        "Er sagt:",
        "„Ja.“",
        "1.",
        "Juni",
        "2025",
        "!",
        "?",
        ".",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "ß",
        "–",
        "e.V.",
        "U.S.",
        "(",
        ")",
        "[1]",
    ]
)
TEXTS = st.lists(PIECES, max_size=300).map(" ".join) | st.text(max_size=2000)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.integers(20, 400), st.integers(0, 200))
def test_chunk_offsets_slice_back_to_the_chunk(text, max_chars, overlap):
    chunks = chunk_document(Document("x.txt", text, "h"), max_chars, overlap)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert 0 <= c.start < c.end <= len(text)
        assert len(c.text) <= max_chars
    # every word of the text is in some chunk
    covered = [False] * len(text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    for m in re.finditer(r"\S+", text):
        assert any(covered[m.start() : m.end()]), m.group()


@settings(max_examples=300)
@given(TEXTS)
def test_sentence_spans_slice_inside_the_text(text):
    for s, e in sentence_spans(text):
        assert 0 <= s < e <= len(text) and text[s:e].strip() == text[s:e]


MARKERS = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.integers(-3, 30).map(lambda i: f"[{i}]"),
        st.lists(st.integers(0, 30), min_size=1, max_size=4).map(lambda ids: "[" + ", ".join(map(str, ids)) + "]"),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=500)
@given(MARKERS, st.sets(st.integers(1, 10), max_size=6))
def test_parser_never_returns_a_citation_not_in_the_prompt(raw, valid):
    text, cited = parse_citations(raw, valid)
    assert set(cited) <= valid
    assert len(cited) == len(set(cited))
    # renumbering keeps only the cited ones, as 1..n
    renumbered = renumber(text, cited)
    found = {
        int(n) for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", renumbered) for n in re.split(r"\s*,\s*", group)
    }
    assert found <= set(range(1, len(cited) + 1))


@settings(max_examples=500)
@given(TEXTS, st.from_regex(r"\d{1,4}([.,]\d{1,4}){0,3}", fullmatch=True))
def test_normalisation_is_idempotent(text, number):
    once = normalize_answer(text)
    assert normalize_answer(once) == once
    assert fold(fold(text)) == fold(text)
    value = normalize_number(number)
    assert normalize_number(value) == value


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(TEXTS, st.integers(8, 300), st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_streamed_windows_are_the_whole_text(tmp_path, text, size, encoding):
    text = text.encode(encoding, "ignore").decode(encoding)
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode(encoding))
    parts = list(windows(SourceFile("doc.txt", path, "h", encoding, len(text)), size))
    assert "".join(p for _, p in parts) == text
    offset = 0
    for base, part in parts:
        assert base == offset and part
        offset += len(part)
