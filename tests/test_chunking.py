import pytest
from conftest import SEEDS

from rag.ingest.chunking import chunk_document, paragraph_spans
from rag.types import Document

DOCS = {
    "one paragraph": "Erster Satz hier. Zweiter Satz folgt. Dritter Satz am Ende.",
    "paragraphs": "Absatz eins, Satz eins. Satz zwei.\n\nAbsatz zwei beginnt. Und endet.\n\nDrei.",
    "lines as paragraphs": "Titel der Meldung\nMeta investiert 14,3 Milliarden Dollar. Das ist viel.\nNoch ein Absatz.",
    "long sentence": "Wort " * 400,
    "leading space": "  \n\n  Text mit Rand.  \n",
    "umlauts": "Größe ändert sich. Übermorgen kommt „Äpfel“ – und mehr.",
}


@pytest.mark.parametrize("name", DOCS)
@pytest.mark.parametrize("max_chars, overlap", [(60, 20), (200, 40), (800, 120)])
def test_offsets_slice_back(name, max_chars, overlap):
    doc = Document("x.txt", DOCS[name], "h")
    chunks = chunk_document(doc, max_chars, overlap)
    assert chunks, "every non-empty document yields chunks"
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
        assert len(c.text) <= max_chars
    # every non-space character is in some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_numbers_and_abbreviations_do_not_split():
    doc = Document("x.txt", "Meta zahlt 14,3 Mrd. Dollar, d. h. fast die Hälfte. Der Deal kam am 12. Juni.", "h")
    chunks = chunk_document(doc, 60, 0)
    assert [c.text for c in chunks] == [
        "Meta zahlt 14,3 Mrd. Dollar, d. h. fast die Hälfte.",
        "Der Deal kam am 12. Juni.",
    ]


def test_paragraphs_kept_together_when_they_fit():
    text = "A" * 30 + ". " + "B" * 30 + ".\n\n" + "C" * 30 + ". " + "D" * 30 + "."
    chunks = chunk_document(Document("x.txt", text, "h"), 100, 0)
    assert [c.text for c in chunks] == [text[: text.index("\n")], text[text.index("C") :]]


def test_overlap_repeats_last_sentence_within_paragraph():
    text = "Eins ist hier. Zwei ist da. Drei ist dort. Vier ist weg."
    chunks = chunk_document(Document("x.txt", text, "h"), 30, 15)
    assert chunks[0].text == "Eins ist hier. Zwei ist da."
    assert chunks[1].text.startswith("Zwei ist da.")


def test_paragraph_spans_hard_wrap_stays_in_paragraph():
    text = "Ein Satz, der umbricht\nund weitergeht. Ende.\nNeuer Absatz."
    assert [text[s:e] for s, e in paragraph_spans(text)] == [
        "Ein Satz, der umbricht\nund weitergeht. Ende.",
        "Neuer Absatz.",
    ]


def test_seeds_chunk_offsets():
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for c in chunk_document(Document(path.name, text, "h")):
            assert text[c.start : c.end] == c.text
