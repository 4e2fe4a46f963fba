import numpy as np
import pytest

from rag.eval.calibrate import coordinate_ascent, fit_logistic, rates, threshold_for, top1_rate

# two questions, three candidates each, two features; the answer is in the marked row
FEATURES = [np.array([[0.9, 0.1], [0.5, 0.8], [0.1, 0.1]]), np.array([[0.2, 0.9], [0.8, 0.2], [0.1, 0.0]])]
LABELS = [np.array([0, 1, 0]), np.array([1, 0, 0])]


@pytest.mark.parametrize(
    "weights, expected",
    [
        ([1.0, 0.0], 0.0),  # the first feature picks the wrong row both times
        ([0.0, 1.0], 1.0),
        ([1.0, 0.6], 0.5),
    ],
)
def test_top1_rate(weights, expected):
    assert top1_rate(np.array(weights), FEATURES, LABELS) == pytest.approx(expected)


def test_coordinate_ascent_finds_the_better_weights_and_keeps_a_flat_start():
    w = coordinate_ascent(np.array([1.0, 0.0]), [(FEATURES, LABELS)], grid=[0.0, 0.5, 1.0])
    assert top1_rate(w, FEATURES, LABELS) == 1.0
    start = np.array([0.0, 1.0])  # already perfect: nothing may change
    assert np.array_equal(coordinate_ascent(start, [(FEATURES, LABELS)], grid=[0.0, 0.5, 1.0]), start)


def test_coordinate_ascent_weighs_each_set_the_same():
    rows = np.array([[0.9, 0.0], [0.5, 1.0]])  # weights (1, 0) pick row 0, (0, 1) row 1
    big = ([rows] * 5, [np.array([1, 1])] * 3 + [np.array([0, 1])] * 2)  # row 1 is right more often
    small = ([rows], [np.array([1, 0])])  # ... but here only row 0 is right
    start, other = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    pooled = ([*big[0], *small[0]], [*big[1], *small[1]])
    assert top1_rate(other, *pooled) > top1_rate(start, *pooled)  # pooled, the big set would win
    assert np.array_equal(coordinate_ascent(start, [big, small], grid=[0.0, 1.0]), start)


def test_fit_logistic_separates_and_orders():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 + rng.normal(scale=0.3, size=400) > 0).astype(float)
    w, b = fit_logistic(x, y, l2=0.1)
    assert w[0] > 0 > w[1] and abs(w[0] / w[1] + 2) < 0.6 and b > 0
    accuracy = np.mean(((x @ w + b) > 0) == (y > 0))
    assert accuracy > 0.9


@pytest.mark.parametrize(
    "scores, answerable, max_false, expected",
    [
        ([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [[1] * 10], 0.1, 2),  # may lose one of ten: the lowest
        ([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [[1] * 10], 0.0, 1),
        ([[0, 5, 6], [3, 4, 9]], [[0, 1, 1], [1, 1, 1]], 0.0, 3),  # the stricter set decides
        ([[0, 1]], [[0, 0]], 0.1, float("-inf")),  # nothing answerable: no limit from this set
    ],
)
def test_threshold_for(scores, answerable, max_false, expected):
    t = threshold_for([np.array(s, float) for s in scores], [np.array(a) for a in answerable], max_false)
    assert t == expected
    for s, a in zip(scores, answerable):
        r = rates(np.array(s, float), np.array(a), t)
        assert r["false_abstain_rate"] is None or r["false_abstain_rate"] <= max_false
