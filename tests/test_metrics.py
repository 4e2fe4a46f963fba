import pytest

from rag.eval import metrics


@pytest.mark.parametrize(
    "a, b",
    [
        ("Die 14,3 Milliarden US-Dollar.", "14.3 billion dollars"[:-1]),
        ("Größe", "groesse"),
        ("Straße", "strasse"),
        ("der Chief Strategy Officer", "chief strategy officer"),
        ("14,3 Mrd. USD", "14.3 billion dollar"),
        ("eine Milliarde", "1 billion"),
        ("zwei Milliarden", "2 Milliarden"),
        ("1.300 Mitarbeiter", "1300 mitarbeiter"),
        ("49 Prozent", "49 %"),
        ("Jason Droege [1]", "Jason Droege"),
        ("„Los Alamos“", "los alamos"),
    ],
)
def test_normalization_pairs(a, b):
    assert metrics.normalize_answer(a) == metrics.normalize_answer(b)


@pytest.mark.parametrize("text", ["Die 14,3 Milliarden US-Dollar.", "Größe", "„Los Alamos“ [2]", "eine Milliarde", ""])
def test_normalization_is_idempotent(text):
    once = metrics.normalize_answer(text)
    assert metrics.normalize_answer(once) == once


@pytest.mark.parametrize(
    "answer, golds, expected",
    [
        ("Jason Droege [1]", ["Jason Droege"], True),
        ("Der neue Interims-CEO ist Jason Droege.", ["Jason Droege"], True),
        ("Droege", ["Jason Droege"], False),
        ("14.3 billion dollars", ["14,3 Milliarden"], True),
        ("143 Milliarden", ["14,3 Milliarden"], False),
        ("etwa 900 Mitarbeiter", ["900"], True),
        ("1900 Mitarbeiter", ["900"], False),  # word boundaries
        ("über eine Milliarde Nutzer", ["eine Milliarde"], True),
        ("drei Milliarden", ["eine Milliarde"], False),
        ("Die Quellen sagen dazu nichts.", ["Los Alamos"], False),
        ("Er studierte am MIT.", ["MIT"], True),
        ("Er kam mit dem Auto.", ["MIT"], False),  # acronyms keep their case
    ],
)
def test_contains_answer(answer, golds, expected):
    assert metrics.contains_answer(answer, golds) is expected


@pytest.mark.parametrize(
    "answer, golds, f1",
    [
        ("Jason Droege", ["Jason Droege"], 1.0),
        ("Jason", ["Jason Droege"], 2 / 3),
        ("etwas anderes", ["Jason Droege"], 0.0),
        ("in Los Alamos", ["Los Alamos", "New Mexico"], 0.8),
    ],
)
def test_token_f1(answer, golds, f1):
    assert metrics.token_f1(answer, golds) == pytest.approx(f1)


RANKED = ["seeds/002_x.txt", "seeds/004_y.txt", "seeds/000_z.txt"]


@pytest.mark.parametrize(
    "gold, hit1, hit5, rr, rank",
    [
        (["002_x.txt"], 1.0, 1.0, 1.0, 1),
        (["004_y.txt"], 0.0, 1.0, 0.5, 2),
        (["000_z.txt", "004_y.txt"], 0.0, 1.0, 0.5, 2),
        (["001_w.txt"], 0.0, 0.0, 0.0, None),
        (["x.txt"], 0.0, 0.0, 0.0, None),  # a suffix match must start at a path separator
    ],
)
def test_hit_mrr_and_rank(gold, hit1, hit5, rr, rank):
    assert metrics.hit_at(RANKED, gold, 1) == hit1
    assert metrics.hit_at(RANKED, gold, 5) == hit5
    assert metrics.reciprocal_rank(RANKED, gold) == rr
    assert metrics.first_rank(RANKED, gold) == rank


def test_file_ranking_keeps_first_occurrence():
    assert metrics.file_ranking(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_mrr_cut_at_k():
    assert metrics.reciprocal_rank([f"f{i}" for i in range(12)], ["f11"], 10) == 0.0


@pytest.mark.parametrize(
    "spans, start, expected",
    [
        ([("c/a.txt", 0, 100), ("c/b.txt", 0, 50)], 70, 1.0),
        ([("c/a.txt", 0, 100)], 100, 0.0),  # end is exclusive
        ([("c/b.txt", 0, 500)], 70, 0.0),  # right offset, wrong file
    ],
)
def test_passage_hit(spans, start, expected):
    assert metrics.passage_hit(spans, ["a.txt"], start) == expected


@pytest.mark.parametrize(
    "abstained, answerable, expected",
    [
        (
            [True, False, True, False],
            [False, True, True, False],
            {"abstain_precision": 0.5, "abstain_recall": 0.5, "false_abstain_rate": 0.5},
        ),
        ([False, False], [True, True], {"abstain_precision": None, "abstain_recall": None, "false_abstain_rate": 0.0}),
        ([True, True], [False, False], {"abstain_precision": 1.0, "abstain_recall": 1.0, "false_abstain_rate": None}),
    ],
)
def test_abstention_counts(abstained, answerable, expected):
    assert metrics.abstention(abstained, answerable) == expected


@pytest.mark.parametrize(
    "values, q, expected",
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([5], 95, 5),
        ([], 50, None),
        ([1, 2, 3, 4, 5], 95, 4.8),
    ],
)
def test_percentile(values, q, expected):
    assert metrics.percentile(values, q) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    "answer, golds, expected",
    [
        ("Jason Droege", ["Jason Droege"], 1.0),
        ("der Jason Droege.", ["Jason Droege"], 1.0),  # articles and punctuation do not count
        ("Droege", ["Jason Droege"], 0.0),
        ("14,3 Milliarden", ["14,8 Milliarden", "14,3 Milliarden"], 1.0),
        ("", ["900"], 0.0),
    ],
)
def test_exact_match(answer, golds, expected):
    assert metrics.exact_match(answer, golds) == expected


@pytest.mark.parametrize(
    "by_fact, expected",
    [
        ({"a": [True, True, True], "b": [True, False, True]}, 0.5),
        ({"a": [True]}, 1.0),
        ({}, None),
    ],
)
def test_consistency(by_fact, expected):
    assert metrics.consistency(by_fact) == expected
