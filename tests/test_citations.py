import pytest

from rag.answer.citations import attach_citations, check_grounding, parse_citations, renumber, repair_citations
from rag.types import Passage

P = [
    Passage(1, "a.txt", 0, 10, "Meta investiert 14,3 Milliarden Dollar in Scale AI."),
    Passage(2, "b.txt", 0, 10, "Das Unternehmen beschäftigt etwa 900 Mitarbeiter."),
    Passage(3, "c.txt", 0, 10, "Ihn ersetzt der neue Interims-CEO Jason Droege."),
]
IDS = {1, 2, 3}


@pytest.mark.parametrize(
    "raw, cleaned, cited",
    [
        ("Jason Droege [3]", "Jason Droege [3]", [3]),
        ("Jason Droege [7]", "Jason Droege", []),  # invented citation dropped
        ("14,3 Milliarden [1, 7]", "14,3 Milliarden [1]", [1]),  # invented part of a list dropped
        ("900 [2][2] und 14,3 [1]", "900 [2][2] und 14,3 [1]", [2, 1]),
        ("Keine Quelle", "Keine Quelle", []),
        ("Droege [0].", "Droege.", []),
    ],
)
def test_parse_citations(raw, cleaned, cited):
    assert parse_citations(raw, IDS) == (cleaned, cited)


@pytest.mark.parametrize(
    "answer, passages, ok, missing",
    [
        ("etwa 900 Mitarbeiter", [P[1]], True, ()),
        ("etwa 1300 Mitarbeiter", [P[1]], False, ("1300",)),  # invented number caught
        ("14.3 Milliarden Dollar", [P[0]], True, ()),  # 14,3 == 14.3
        ("14.3 billion dollars", [P[0]], True, ()),  # English units for German text
        ("Jason Droege", [P[2]], True, ()),
        ("Peter Droege", [P[2]], False, ("Peter",)),  # invented name caught
        ("Metas Investition: 14,3 Milliarden", [P[0]], True, ()),  # inflected name
        ("Jason Droege", [P[0]], False, ("Jason", "Droege")),  # right fact, wrong citation
        ("Er heißt Droege.", [P[2]], True, ()),
    ],
)
def test_check_grounding(answer, passages, ok, missing):
    g = check_grounding(answer, passages)
    assert (g.ok, g.missing) == (ok, missing)


def test_attach_citations_finds_passage_with_the_facts():
    assert attach_citations("etwa 900 Mitarbeiter", P) == [2]
    assert attach_citations("Jason Droege", P) == [3]
    assert attach_citations("nichts davon", P) == []


def test_repair_moves_a_wrong_citation_to_the_passage_with_the_fact():
    cited, g = repair_citations("Jason Droege", [1], P)
    assert cited == [3] and g.ok
    cited, g = repair_citations("Hans Wurst", [1], P)
    assert not g.ok


@pytest.mark.parametrize(
    "text, cited, expected",
    [
        ("14,3 Milliarden [3]", [3], "14,3 Milliarden [1]"),
        ("900 [2] und 14,3 [3]", [3, 2], "900 [2] und 14,3 [1]"),
        ("A [2, 3] B [3]", [2, 3], "A [1, 2] B [2]"),
    ],
)
def test_renumber(text, cited, expected):
    assert renumber(text, cited) == expected
