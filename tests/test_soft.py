"""Soft word match (rag/answer/soft.py): the pure parts with tables and a counting encoder,
and the real multilingual embedder on word pairs a stemmer cannot match."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer import reader
from rag.answer.evidence import Candidate
from rag.answer.question import Question
from rag.answer.soft import WordVectors, best_match, is_content, similarity


@pytest.mark.parametrize(
    "word, content",
    [
        ("Mitarbeiter", True),
        ("verlassen", True),
        ("die", False),
        ("the", False),
        ("wie", False),
        ("when", False),
        ("?", False),
        ("2018", False),
        ("a", False),
        ("AI", True),
    ],
)
def test_is_content(word, content):
    assert is_content(word) is content


SIM = np.array([[0.9, 0.2, 0.4], [0.1, 0.3, 0.8]])


@pytest.mark.parametrize(
    "columns, expected",
    [(None, [0.9, 0.8]), ([1], [0.2, 0.3]), ([1, 2], [0.4, 0.8]), ([], [0.0, 0.0])],
)
def test_best_match(columns, expected):
    assert best_match(SIM, columns) == pytest.approx(expected)


class Counting:
    """An encoder that records what it was asked to encode; vectors from the word's letters."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, words):
        self.calls.append(list(words))
        return np.array([[w.count(c) + 0.5 for c in "aeinrst"] for w in words], dtype=np.float32)


def test_word_vectors_are_unit_length_and_cached():
    enc = Counting()
    vectors = WordVectors(enc)
    first = vectors(["Sitz", "sitzt", "Sitz"])
    assert first.shape == (3, 7)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)
    again = vectors(["sitzt", "Stadt"])
    assert enc.calls == [["Sitz", "sitzt"], ["Stadt"]]  # each word encoded once
    assert np.allclose(again[0], first[1])


def test_a_full_cache_starts_over():
    enc = Counting()
    vectors = WordVectors(enc, size=2)
    vectors(["a1", "b2"])
    vectors(["c3"])
    vectors(["a1"])
    assert enc.calls[-1] == ["a1"]


@pytest.fixture(scope="module")
def use_vectors():
    from rag.index.embedders import load_embedder, resolve_embedder

    return WordVectors(load_embedder(resolve_embedder("use")).encode)


@pytest.mark.parametrize(
    "question_word, right, wrong",
    [
        ("leave", "verlassen", "gegründet"),  # across languages
        ("employees", "Mitarbeiter", "Annotationen"),
        ("sitzt", "Sitz", "Einwanderer"),  # a verb and its noun
        ("founded", "gegründet", "verlassen"),
    ],
)
def test_the_embedder_matches_words_a_stemmer_cannot(use_vectors, question_word, right, wrong):
    sim = similarity([question_word], [right, wrong], use_vectors)
    assert sim[0, 0] > sim[0, 1] + 0.2


def test_soft_features_favour_the_sentence_with_the_asked_verb(use_vectors):
    q = Question.parse("When did Lucy Guo leave Scale AI?", lambda t: 1.0)
    # the same sentence but for its verb: only the soft match can tell "leave" from them
    founded = "Lucy Guo hat Scale AI 2016 gegründet."
    left = "Lucy Guo hat Scale AI 2018 verlassen."
    feats = {}
    for text in (founded, left):
        s = Candidate("a.txt", 0, len(text), text, 0.5, 0.5, 1.0, 1.0, 1.0, 0.5, text)
        found = reader.pairs(q, [s], vectors=use_vectors)
        year = next(p for p in found if p.candidate.text[:2] == "20")
        feats[text] = year.features
    for name in ("soft_window", "soft_mean", "soft_min"):
        assert feats[left][name] > feats[founded][name]
    assert all(0.0 <= f["soft_min"] <= f["soft_mean"] <= 1.0 for f in feats.values())
