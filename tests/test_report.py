"""The HTML eval report: the pure functions behind it (tables of cases), the file it writes
(self-contained, safe against a passage holding markup) and `rag report`'s bad input.
A real report of the seed gold set in a real browser: tests/test_browser.py."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.report import data
from rag.report.html import render


def item(
    gid: str,
    answers: list[str],
    abstained: bool = False,
    correct: bool = True,
    confidence: float | None = 0.9,
    reason: str = "",
    answer: str = "Jason Droege [1]",
    total_ms: float = 400.0,
    passages: bool = True,
) -> dict:
    """One report item as rag/eval/run.py writes it (the members the report reads)."""
    cited = not abstained
    return {
        "id": gid,
        "question": f"question {gid}",
        "answer": "Die Quellen sagen dazu nichts." if abstained else answer,
        "abstained": abstained,
        "mode": "abstained" if abstained else "extractive",
        "conflict": False,
        "confidence": confidence,
        "reason": reason,
        "lang": "de",
        "short": None if abstained else {"text": "Jason Droege", "start": 40, "end": 52},
        "rewritten_from": None,
        "citations": [{"id": 1, "source": "seeds/a.txt", "start": 30, "end": 60, "quote": "x" * 30}] if cited else [],
        "passages": (
            [{"citation": 1, "source": "seeds/a.txt", "start": 10, "end": 100, "text": "p" * 90}]
            if cited and passages
            else []
        ),
        "retrieved": [{"source": "seeds/a.txt", "start": 10, "end": 100, "score": 1.0}],
        "timings": {"total_ms": total_ms, "retrieve_ms": 5.0, "load_ms": 0.0},
        "gold": {"answers": answers, "sources": ["a.txt"] if answers else [], "lang": "de", "type": "single"},
        "scores": {
            "gold_rank": 1 if answers else None,
            "correct": (abstained if not answers else correct and not abstained),
            "short_em": (1.0 if correct else 0.0) if answers else None,
        },
    }


# ---------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    "answers, abstained, correct, expected",
    [
        (["x"], False, True, "right"),
        (["x"], False, False, "wrong"),
        (["x"], True, False, "withheld"),
        ([], True, True, "abstained"),
        ([], False, False, "answered"),
    ],
)
def test_outcome(answers, abstained, correct, expected):
    assert data.outcome(item("a", answers, abstained, correct)) == expected
    assert data.is_right(item("a", answers, abstained, correct)) == (expected in ("right", "abstained"))


@pytest.mark.parametrize("short_em, expected", [(0.0, True), (1.0, True), (None, False)])
def test_answerable_in_a_report_older_than_the_gold_member(short_em, expected):
    old = {"id": "a", "scores": {"short_em": short_em}}
    assert data.answerable(old) is expected


@pytest.mark.parametrize(
    "abstained, reason, expected",
    [
        (False, "", False),
        (True, "reader confidence 0.28 below 0.45", False),
        (True, "the evidence chosen does not name the year the question asks about", True),
        (True, "nothing retrieved", True),
    ],
)
def test_rule_abstained(abstained, reason, expected):
    assert data.rule_abstained({"abstained": abstained, "reason": reason}) is expected


# ---------------------------------------------------------------- thresholds

SWEEP_ITEMS = [
    item("r1", ["x"], confidence=0.9),  # right
    item("r2", ["x"], confidence=0.6),  # right
    item("w1", ["x"], correct=False, confidence=0.7),  # wrong
    item("h1", ["x"], abstained=True, correct=False, confidence=0.3, reason="reader confidence 0.30 below 0.50"),
    item("u1", [], abstained=True, confidence=0.2, reason="reader confidence 0.20 below 0.50"),
    item("u2", [], confidence=0.8, answer="something [1]"),  # answered although unanswerable
    item("u3", [], abstained=True, confidence=0.95, reason="nothing retrieved"),  # withheld at any threshold
]


@pytest.mark.parametrize(
    "t, unans_withheld, ans_withheld, ans_right, lower_bound",
    [
        (0.5, 2 / 3, 1 / 4, 2 / 4, False),  # the run itself
        (0.0, 1 / 3, 0.0, 2 / 4, True),  # withheld answers are not known: a lower bound
        (0.65, 2 / 3, 2 / 4, 1 / 4, False),  # r2 (0.6) now withheld
        (0.85, 1.0, 3 / 4, 1 / 4, False),
        (1.0, 1.0, 1.0, 0.0, False),
    ],
)
def test_rates_at_other_thresholds(t, unans_withheld, ans_withheld, ans_right, lower_bound):
    r = data.rates_at(SWEEP_ITEMS, t, 0.5)
    assert r.unanswerable_withheld == pytest.approx(unans_withheld)
    assert r.answerable_withheld == pytest.approx(ans_withheld)
    assert r.answerable_right == pytest.approx(ans_right)
    assert r.lower_bound is lower_bound


def test_rates_without_confidences_are_none():
    r = data.rates_at([item("a", ["x"], confidence=None)], 0.5, None)
    assert (r.unanswerable_withheld, r.answerable_withheld, r.answerable_right) == (None, None, None)


def test_rate_table_holds_the_runs_threshold_in_order():
    ts = [r.threshold for r in data.rate_table(SWEEP_ITEMS, 0.44964)]
    assert 0.44964 in ts and ts == sorted(ts) and len(ts) == 10


def test_calibration_points_group_by_what_the_question_should_get():
    points = {p.group for p in data.calibration_points(SWEEP_ITEMS)}
    assert points == {"right", "wrong", "unanswerable"}
    by_conf = {p.confidence: p for p in data.calibration_points(SWEEP_ITEMS)}
    assert by_conf[0.3].group == "wrong" and by_conf[0.3].abstained  # a false abstention is a wrong answer


# ---------------------------------------------------------------- rows and passages


def test_rows_point_each_citation_at_its_passage_and_span():
    rows, passages = data.rows([item("a", ["x"]), item("b", ["x"], passages=False)])
    c = rows[0]["citations"][0]
    assert passages[c["passage"]] == "p" * 90
    assert (c["from"], c["to"]) == (20, 50)  # document 30-60 inside the passage at 10
    assert c["label"] == "seeds/a.txt:30-60"
    old = rows[1]["citations"][0]  # a report from before passages were kept: the quote only
    assert old["passage"] is None and old["from"] is None and old["quote"] == "x" * 30
    assert rows[0]["gold"] == ["x"] and rows[0]["gold_rank"] == 1 and rows[0]["outcome"] == "right"


# ---------------------------------------------------------------- comparing


@pytest.mark.parametrize(
    "key, now, before, verdict",
    [
        ("accuracy", 0.8, 0.7, "better"),
        ("accuracy", 0.6, 0.7, "worse"),
        ("accuracy", 0.7, 0.7, "same"),
        ("latency_ms_p50", 900.0, 1000.0, "better"),
        ("false_abstain_rate", 0.1, 0.05, "worse"),
        ("questions", 50, 46, "neutral"),
        ("accuracy", 0.7, None, "neutral"),
    ],
)
def test_delta_verdicts(key, now, before, verdict):
    assert data.Delta(key, key, now, before, ".3f").verdict == verdict


def test_changes_fixed_broken_and_changed():
    before, _ = data.rows([item("a", ["x"], correct=False), item("b", ["x"]), item("c", ["x"]), item("d", ["x"])])
    now, _ = data.rows(
        [
            item("a", ["x"]),
            item("b", ["x"], correct=False, answer="wrong [1]"),
            item("c", ["x"], answer="also right [1]"),
            item("d", ["x"]),
            item("e", ["x"]),
        ]
    )
    assert [(c.id, c.kind) for c in data.changes(now, before)] == [("a", "fixed"), ("b", "broken"), ("c", "changed")]


# ---------------------------------------------------------------- the file


def report_of(items: list[dict], accuracy: float = 0.75) -> dict:
    return {
        "summary": {
            "questions": len(items),
            "accuracy": accuracy,
            "short_f1": 0.5,
            "latency_ms_p50": 400.0,
            "latency_ms_p95": 900.0,
            "groups": {
                "lang=de": {"answerable": 3, "accuracy": accuracy, "short_f1": 0.5},
                "type=single": {"answerable": 3, "accuracy": 0.5, "short_f1": 0.4},
            },
        },
        "items": items,
        "config": {"model": "/m/gemma.gguf", "embedder": "use", "k": 5, "index": "i", "abstain_threshold": 0.5},
    }


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)


def test_the_file_is_self_contained_and_holds_every_part():
    page = render(report_of(SWEEP_ITEMS))
    assert not EXTERNAL.search(page)
    assert "default-src 'none'" in page  # the browser would refuse to fetch anything
    assert page.count("<svg") == 4  # groups, calibration, thresholds, latency
    for title in ("Accuracy and short-answer F1", "Abstention score by outcome", "other abstention thresholds"):
        assert title in page
    payload = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
    )
    assert [r["id"] for r in payload["rows"]] == [it["id"] for it in SWEEP_ITEMS]
    assert "gemma.gguf" in page and "0.500 (this run)" not in page and "0.50 (this run)" in page


def test_a_passage_holding_markup_stays_data():
    evil = item("x", ["x"])
    evil["passages"][0]["text"] = '</script><script>alert(1)</script><img src="http://example.com/t.png">'
    evil["question"] = "<b>{{DATA}}</b> <!--BODY-->"
    page = render(report_of([evil]))
    assert page.count("</script>") == 2  # the template's own two
    assert "http://example.com" in page and not EXTERNAL.search(page)  # only inside the escaped JSON
    assert "<b>{{DATA}}" not in page


def test_compare_shows_fixed_and_broken_side_by_side():
    before = report_of([item("a", ["x"], correct=False), item("b", ["x"])], accuracy=0.5)
    now = report_of([item("a", ["x"]), item("b", ["x"], correct=False, answer="wrong [1]")], accuracy=0.6)
    page = render(now, before)
    assert "What changed" in page and "1 fixed" in page and "1 broken" in page
    assert '<div class="d better">+0.100 vs before</div>' in page
    assert 'id="f-change"' in page


def test_a_retrieval_only_report_renders_without_answer_plots():
    items = [{"id": "a", "question": "q", "retrieved": [], "timings": {"retrieve_ms": 3.0}, "scores": {"hit@1": 1.0}}]
    page = render({"summary": {"questions": 1, "hit@1": 1.0}, "items": items, "config": {"model": None}})
    assert "<svg" not in page and "retrieval only" in page


# ---------------------------------------------------------------- rag report


def run(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def test_rag_report_writes_html_and_prints_the_figures(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(report_of(SWEEP_ITEMS)), encoding="utf-8")
    (tmp_path / "old.json").write_text(json.dumps(report_of(SWEEP_ITEMS[:3], 0.5)), encoding="utf-8")
    result = run(
        "report", str(tmp_path / "r.json"), "--compare", str(tmp_path / "old.json"), "--html", str(tmp_path / "o.html")
    )
    assert result.exit_code == 0, result.output
    assert "answer accuracy" in result.stdout and "+0.250" in result.stdout
    assert "What changed" in (tmp_path / "o.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["missing.json"], "does not exist"),
        ("not json", ["r.json"], "is not a rag eval report"),
        ("{}", ["r.json"], "has no 'summary'"),
        ("ok", ["r.json", "--html", "no/such/folder/o.html"], "give a file name in an existing folder"),
        ("ok", ["r.json", "--html", "."], "give a file name in an existing folder"),
        ("ok", ["r.json", "--compare", "gone.json"], "does not exist"),
    ],
)
def test_rag_report_bad_input_is_one_line(tmp_path, monkeypatch, setup, args, message):
    monkeypatch.chdir(tmp_path)
    if setup is not None:
        text = json.dumps(report_of(SWEEP_ITEMS)) if setup == "ok" else setup
        (tmp_path / "r.json").write_text(text, encoding="utf-8")
    result = run("report", *args)
    assert result.exit_code != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert not list(tmp_path.glob("**/*.html")) and not list(tmp_path.glob(".*"))  # nothing half-written


def test_eval_html_into_a_missing_folder_fails_before_the_run(tmp_path):
    from conftest import ROOT

    result = run(
        "eval",
        str(ROOT / "gold" / "seeds.jsonl"),
        "--index",
        str(tmp_path / "none"),
        "--html",
        str(tmp_path / "no" / "r.html"),
    )
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "give a file name in an existing folder" in errors[0]
