"""The reader's fit (scripts/train_reader.py): the pair scorer ranks each question's pairs; the
masked near misses are measured, never fitted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("train_reader", ROOT / "scripts" / "train_reader.py")
train_reader = importlib.util.module_from_spec(spec)
sys.modules["train_reader"] = train_reader  # its dataclasses look their module up
spec.loader.exec_module(train_reader)
GoldItem = train_reader.GoldItem


def questions(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n questions of 4 pairs each. Feature 0 marks the right pair within its question, but only
    relative to its question's other pairs; feature 1 shifts a whole question (an easy question,
    all of whose pairs look good), which a classifier over all pairs confuses with being right."""
    rng = np.random.default_rng(seed)
    rows, labels, owner = [], [], []
    for q in range(n):
        shift = rng.normal(0, 3)
        right = int(rng.integers(4))
        for j in range(4):
            rows.append([shift + (1.0 if j == right else 0.0) + rng.normal(0, 0.2), shift])
            labels.append(int(j == right))
            owner.append(q)
    return np.array(rows), np.array(labels), np.array(owner)


def top1(scores: np.ndarray, y: np.ndarray, owner: np.ndarray) -> float:
    return float(np.mean([y[owner == q][np.argmax(scores[owner == q])] for q in np.unique(owner)]))


def test_rank_weights_rank_within_each_question():
    x, y, owner = questions(200)
    w = train_reader.rank_weights(x, y, owner, l2=1.0)
    tx, ty, towner = questions(200, seed=1)
    assert top1(tx @ w, ty, towner) > 0.95
    # the question's shift is the same for all its pairs: it cannot rank them and gets no weight
    assert w[0] > 0 and abs(w[1]) < 1e-6


def test_questions_without_a_right_pair_do_not_move_the_fit():
    x, y, owner = questions(100)
    w = train_reader.rank_weights(x, y, owner, l2=1.0)
    extra = np.array([[5.0, 5.0], [9.0, 9.0]])  # a question none of whose pairs is right
    w2 = train_reader.rank_weights(np.vstack([x, extra]), np.append(y, [0, 0]), np.append(owner, [100, 100]), 1.0)
    assert w2 == pytest.approx(w, rel=0.05)


def test_fit_pairs_gives_probabilities_in_the_rankers_order():
    x, y, owner = questions(200)
    model = train_reader.fit_pairs(x, y, owner, l2=1.0)
    p = train_reader.predict(model, x)
    assert ((p > 0) & (p < 1)).all()
    order = np.argsort(x @ train_reader.rank_weights(x, y, owner, 1.0))
    assert (np.diff(p[order]) >= -1e-12).all()
    # calibrated: as many right pairs expected as there are
    assert p.sum() == pytest.approx(y.sum(), rel=0.1)


def record(sentences: list[str], answers: list[str], set_name: str = "xquad-de", group: str = "a") -> dict:
    return {
        "set": set_name,
        "id": "q1",
        "group": group,
        "answerable": bool(answers),
        "answers": answers,
        "sentences": [{"text": t} for t in sentences],
        "generated": {"text": "x", "start": 0, "end": 1},
        "scored": {"0:x": [-1.0, 1]},
    }


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e3])
def test_fit_standardised_weights_apply_to_raw_inputs(scale):
    """The abstention is fitted on standardised inputs but the reader applies its weights to
    raw ones: mapped back, they give the standardised model's probabilities, whatever an
    input's scale (a log next to shares)."""
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(5, 2, 400) * scale, rng.uniform(0, 1, 400)])
    y = (x[:, 0] / scale + 3 * x[:, 1] + rng.normal(0, 1, 400) > 6.5).astype(int)
    w, b = train_reader.fit_standardised(x, y, 1.0)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    direct = train_reader.fit((x - mu) / sd, y, 1.0).predict_proba((x - mu) / sd)[:, 1]
    assert train_reader.predict((w, b), x) == pytest.approx(direct, abs=1e-9)
    # ...and the same weights for an input whatever its unit
    assert w[0] * scale == pytest.approx(train_reader.fit_standardised(x / [scale, 1], y, 1.0)[0][0], rel=1e-6)


@pytest.mark.parametrize(
    "sentences, answers, kept, keeps_copy",
    [
        # the answer's sentence goes; the model read it, so its copy goes too
        (["Scale AI beschäftigt 900 Mitarbeiter.", "Scale AI sitzt in San Francisco."], ["900"], [1], False),
        # every sentence that holds a gold answer goes; the first stays, and so does the copy
        (["Meta ist Partner.", "Es hat 900 Mitarbeiter.", "Rund 900 Leute."], ["900"], [0], True),
        # another spelling of the same answer goes as well ("14.3 billion" and "14,3 Milliarden")
        (["Meta zahlt 14,3 Milliarden Dollar.", "Wang wird Chef."], ["14.3 billion dollars"], [1], False),
    ],
)
def test_masked_copies_lack_the_answer(sentences, answers, kept, keeps_copy):
    r = record(sentences, answers)
    (m,) = train_reader.masked([r])
    assert m["set"] == "xquad-de" + train_reader.MASKED and not m["answerable"] and m["answers"] == []
    assert m["sentences"] == [r["sentences"][i] for i in kept] and m["group"] == r["group"]
    assert ("generated" in m) is keeps_copy and "scored" not in m  # scores name sentences by index
    assert r["answerable"] and len(r["sentences"]) == len(sentences)  # the original is untouched


def test_only_answerable_questions_as_asked_are_masked():
    unanswerable = record(["Meta ist Partner."], [])
    already = record(["Meta ist Partner."], ["Meta"], set_name="seeds" + train_reader.MASKED)
    assert train_reader.masked([unanswerable, already]) == []


def test_held_out_folds_never_fit_masked_rows_and_test_them_with_their_article():
    groups = np.array(["a", "a", "b", "c", "d", "e", "a", "c"])  # rows 6 and 7: masked copies
    fitted = np.arange(6)
    folds = train_reader.held_out(groups, fitted, 5)
    assert all(set(train) <= set(fitted) for train, _ in folds)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(8))  # every row is held out once
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


GOLD = [
    GoldItem("a1", "Wie viele Mitarbeiter beschäftigt Meta?", ("900",), ("a.txt",)),
    GoldItem("b1", "Wo wurde Alexandr Wang geboren?", ("Los Alamos",), ("b.txt",)),
    GoldItem("a2", "Was geschah im Jahr 2016?", ("Gründung",), ("a.txt",)),
    GoldItem("a3", "Was ist unbekannt?", (), ("a.txt",)),
]


def test_swapped_questions_ask_of_another_articles_name_or_another_year():
    swaps = {g.id: g for g in train_reader.swapped(GOLD, 10)}
    assert set(swaps) == {"a1:swapped", "b1:swapped", "a2:swapped"}  # not the unanswerable a3
    # a name from a question on another article takes the place of one of its own
    assert swaps["a1:swapped"].question in (
        "Wie viele Mitarbeiter beschäftigt Alexandr?",
        "Wie viele Mitarbeiter beschäftigt Wang?",
    )
    assert swaps["b1:swapped"].question in ("Wo wurde Meta Wang geboren?", "Wo wurde Alexandr Meta geboren?")
    # without a name, the year moves
    year = int(swaps["a2:swapped"].question.split()[-1].rstrip("?"))
    assert year != 2016 and abs(year - 2016) <= 3
    for g in swaps.values():
        original = next(o for o in GOLD if f"{o.id}{train_reader.SWAPPED}" == g.id)
        assert not g.answerable and g.sources == original.sources  # held out with its article


def test_swapped_takes_at_most_as_many_as_asked():
    assert len(train_reader.swapped(GOLD, 2)) == 2


def test_reuse_relabels_with_the_gold_as_it_is_now(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a.txt", "b.txt"):
        (corpus / name).write_text("Text.", encoding="utf-8")
    now = [
        GoldItem("a1", "Wie viele Mitarbeiter?", ("900", "900 Mitarbeiter"), ("a.txt",)),
        GoldItem("b1", "Wo wurde Wang geboren?", ("Los Alamos", "in Los Alamos"), ("b.txt",)),
    ]
    ds = train_reader.DevSet("xquad-de", corpus, now, 2)  # every 2nd article (b.txt) is left out
    collected = [
        {"set": "xquad-de", "id": "a1", "answers": ["900"], "answerable": True},
        {"set": "xquad-de", "id": "b1", "answers": [], "answerable": False},
        {"set": "xquad-de" + train_reader.MASKED, "id": "a1" + train_reader.MASKED, "answers": [], "answerable": False},
    ]
    said = []
    train_reader.relabel(collected, [ds], tmp_path, said.append)
    assert said == ["1 questions' gold answers changed since they were collected"]
    assert collected[0] == {"set": "xquad-de", "id": "a1", "answers": ["900", "900 Mitarbeiter"], "answerable": True}
    assert collected[1]["answers"] == [] and not collected[1]["answerable"]  # its article is still left out
    assert collected[2]["answers"] == [] and not collected[2]["answerable"]  # near misses have none


def test_reuse_says_which_gold_questions_were_never_collected(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Text.", encoding="utf-8")
    ds = train_reader.DevSet("seeds", corpus, GOLD[:2], 0)
    said = []
    train_reader.relabel(
        [{"set": "seeds", "id": "a1", "answers": ["900"], "answerable": True}], [ds], tmp_path, said.append
    )
    assert said == ["1 gold questions are not in the collection: run without --reuse to collect them"]
