"""The pair scorer's fit (scripts/train_reader.py): it ranks each question's pairs."""

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
