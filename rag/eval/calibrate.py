"""Fitting the answer stage's weights and thresholds to dev data: pure numpy functions,
called by scripts/fit.py, which collects the data and writes rag/answer/fitted.json."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top1_rate(weights: np.ndarray, features: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> float:
    """Share of questions whose highest-scoring candidate (rows of features, scored by
    features @ weights; the first wins ties, as a stable sort does) has label 1."""
    if not features:
        return 0.0
    return float(np.mean([lab[int(np.argmax(f @ weights))] for f, lab in zip(features, labels) if len(lab)]))


def coordinate_ascent(
    start: np.ndarray,
    sets: Sequence[tuple[Sequence[np.ndarray], Sequence[np.ndarray]]],
    grid: Sequence[float],
    rounds: int = 3,
) -> np.ndarray:
    """Weights that maximise the mean over dev sets of top1_rate, one coordinate at a time
    over a grid. Each set counts the same, so a small hand-written set is not outvoted by a
    large benchmark. A value is replaced only by a strictly better one, so a flat objective
    keeps the start: the result moves away from what is known to work only for a gain."""

    def objective(w: np.ndarray) -> float:
        return float(np.mean([top1_rate(w, features, labels) for features, labels in sets]))

    w = np.asarray(start, dtype=float).copy()
    best = objective(w)
    for _ in range(rounds):
        improved = False
        for i in range(len(w)):
            for value in grid:
                trial = w.copy()
                trial[i] = value
                rate = objective(trial)
                if rate > best + 1e-12:
                    w, best, improved = trial, rate, True
        if not improved:
            break
    return w


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method: weights and bias for
    P(y=1) = sigmoid(x @ w + b). The bias is not penalised."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ theta, -30, 30)))
        grad = xb.T @ (p - y) + penalty * theta
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def threshold_for(
    scores_by_set: Sequence[np.ndarray], answerable_by_set: Sequence[np.ndarray], max_false_abstention: float
) -> float:
    """The highest threshold (abstain when score < threshold) that abstains on at most
    max_false_abstention of the answerable questions of every set."""
    limits = []
    for scores, answerable in zip(scores_by_set, answerable_by_set):
        s = np.sort(np.asarray(scores)[np.asarray(answerable, dtype=bool)])
        if len(s) == 0:
            continue
        allowed = int(np.floor(max_false_abstention * len(s)))  # answerable questions we may lose
        limits.append(float(s[allowed]))  # abstaining below s[allowed] loses exactly `allowed`
    return min(limits) if limits else float("-inf")


def rates(scores: np.ndarray, answerable: np.ndarray, threshold: float) -> dict:
    """What a threshold does on one set: abstention recall and false-abstention rate."""
    abstain = np.asarray(scores) < threshold
    answerable = np.asarray(answerable, dtype=bool)
    return {
        "abstain_recall": float(abstain[~answerable].mean()) if (~answerable).any() else None,
        "false_abstain_rate": float(abstain[answerable].mean()) if answerable.any() else None,
    }
