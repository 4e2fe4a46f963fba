"""scripts/bench_models.py: the side-by-side table built from eval summaries (no model loaded)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_models", ROOT / "scripts" / "bench_models.py")
bench_models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_models)

DEFAULT = {
    "questions": 40,
    "hit@5": 0.9,  # retrieval: not shown
    "accuracy": 0.5,
    "short_em": 0.25,
    "short_f1": 0.4,
    "short_given": 0.75,
    "citation_precision": 0.8,
    "citation_recall": 0.9,
    "abstain_precision": None,
    "false_abstain_rate": 0.1,
    "mode_generated": 0.0,
    "latency_ms_p50": 400.0,
    "groups": {
        "lang=de": {"accuracy": 0.6, "short_em": 0.3, "short_f1": 0.5},
        "lang=en": {"accuracy": 0.4, "short_em": 0.2, "short_f1": 0.3},
        "type=single": {"accuracy": 0.5, "short_em": 0.25, "short_f1": 0.4},
    },
}
BIGGER = {
    **DEFAULT,
    "accuracy": 0.625,
    "short_em": 0.2,
    "mode_generated": 1.0,
    "latency_ms_p50": 1000.0,
    "consistency": 0.5,
    "groups": {"lang=de": {"accuracy": 0.7, "short_em": 0.1, "short_f1": 0.45}},
}


@pytest.mark.parametrize(
    "key, value, default, fmt, expected",
    [
        ("accuracy", 0.625, 0.5, ".3f", "+0.125"),
        ("short_em", 0.2, 0.25, ".3f", "-0.050"),
        ("conflicts", 3, 5, "d", "-2"),
        ("latency_ms_p50", 1000.0, 400.0, ".0f", "x2.50"),
        ("latency_ms_p50", 200.0, 400.0, ".0f", "x0.50"),
        ("latency_ms_p50", 200.0, 0.0, ".0f", "-"),  # no ratio to nothing
        ("accuracy", None, 0.5, ".3f", "-"),
        ("accuracy", 0.5, None, ".3f", "-"),
    ],
)
def test_versus(key, value, default, fmt, expected):
    assert bench_models.versus(key, value, default, fmt) == expected


@pytest.mark.parametrize(
    "summaries, labels",
    [
        # retrieval and counts left out; the rest in rag.eval.run.FIGURES order; lang groups
        # compared, the single question type not (it would repeat the totals)
        (
            [DEFAULT],
            [
                "answer accuracy",
                "short answer given",
                "short answer EM",
                "short answer F1",
                "citation precision",
                "citation recall",
                "abstention precision",
                "false abstention rate",
                "mode: generated",
                "latency ms p50",
                "accuracy [lang=de]",
                "short EM [lang=de]",
                "short F1 [lang=de]",
                "accuracy [lang=en]",
                "short EM [lang=en]",
                "short F1 [lang=en]",
            ],
        ),
        # a figure only one summary has (consistency: paraphrase set) still gets its row
        ([{"accuracy": 0.5}, {"accuracy": 0.6, "consistency": 0.5}], ["answer accuracy", "consistency (facts)"]),
        ([{"questions": 3, "hit@1": 1.0}], []),
    ],
)
def test_rows_labels(summaries, labels):
    assert [label for _, label, _, _ in bench_models.rows(summaries)] == labels


def test_rows_values_line_up_with_summaries():
    by_label = {label: values for _, label, _, values in bench_models.rows([DEFAULT, BIGGER])}
    assert by_label["answer accuracy"] == [0.5, 0.625]
    assert by_label["consistency (facts)"] == [None, 0.5]
    assert by_label["accuracy [lang=en]"] == [0.4, None]  # BIGGER has no English group


def test_side_by_side():
    lines = bench_models.side_by_side(["gemma-3-270m", "qwen2.5-0.5b"], [DEFAULT, BIGGER]).splitlines()
    assert lines[0].split() == ["gemma-3-270m", "qwen2.5-0.5b", "vs", "default"]
    cells = {line[:28].strip(): line[28:].split() for line in lines[1:]}
    assert cells["answer accuracy"] == ["0.500", "0.625", "+0.125"]
    assert cells["short answer EM"] == ["0.250", "0.200", "-0.050"]
    assert cells["mode: generated"] == ["0.000", "1.000", "+1.000"]
    assert cells["latency ms p50"] == ["400", "1000", "x2.50"]
    assert cells["consistency (facts)"] == ["-", "0.500", "-"]
    assert cells["abstention precision"] == ["-", "-", "-"]
    assert cells["accuracy [lang=de]"] == ["0.600", "0.700", "+0.100"]
    # every value sits right-aligned under its column's name
    ends = [lines[0].index(h) + len(h) for h in ("gemma-3-270m", "qwen2.5-0.5b", "default")]
    row = next(line for line in lines if line.startswith("answer accuracy"))
    assert [row.index(c) + len(c) for c in ("0.500", "0.625", "+0.125")] == ends


def test_side_by_side_several_models():
    third = {**DEFAULT, "accuracy": 0.25}
    lines = bench_models.side_by_side(["a", "b", "c"], [DEFAULT, BIGGER, third]).splitlines()
    assert lines[0].split() == ["a", "b", "vs", "default", "c", "vs", "default"]
    row = next(line for line in lines if line.startswith("answer accuracy"))
    assert row.split()[2:] == ["0.500", "0.625", "+0.125", "0.250", "-0.250"]


@pytest.mark.parametrize(
    "config, n_params, expected",
    [
        ({"model": "m", "generates": True}, 1_543_714_304, "a: m (1544M parameters, writes answers)"),
        ({"model": "m", "generates": False}, 268_098_176, "a: m (268M parameters, answers from the evidence)"),
        ({"model": "m", "generates": False}, None, "a: m (size unknown, answers from the evidence)"),
    ],
)
def test_describe(config, n_params, expected):
    assert bench_models.describe("a", config, n_params) == expected


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "/nowhere/missing.gguf"], "missing.gguf does not exist"),
        (["--model", str(ROOT / "README.md")], "is not a GGUF model file"),
        (["--model", str(ROOT / "README.md"), "--sets", "seeds,nope"], "unknown set nope"),
        (["--model", str(ROOT / "README.md"), "--limit", "0"], "at least 1"),
    ],
)
def test_bad_input_is_one_line(argv, message, capsys):
    assert bench_models.main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1
