import json

import pytest
from click.testing import CliRunner
from conftest import ROOT

from rag.cli import main
from rag.eval import run as evaluate


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_malformed_lines_are_reported_with_their_numbers(tmp_path):
    gold = write_lines(
        tmp_path / "g.jsonl",
        [
            '{"id": "a", "question": "Wer?", "answers": ["X"], "sources": ["a.txt"]}',
            '{"id": "b", "question": "Wo?", "answers": "X", "sources": ["a.txt"]}',
            "not json",
            "",
            '{"id": "a", "question": "Was?", "answers": [], "sources": []}',
            '{"id": "c", "question": "Wann?", "answers": ["1"], "sources": []}',
        ],
    )
    with pytest.raises(evaluate.GoldError) as err:
        evaluate.load_gold(gold)
    msg = str(err.value)
    assert "4 malformed" in msg
    for fragment in (
        "line 2: 'answers' must be a list",
        "line 3: invalid JSON",
        "line 5: duplicate id",
        "line 6: an answerable question needs",
    ):
        assert fragment in msg


def test_broken_gold_file_stops_the_run_before_it_starts(tmp_path):
    gold = write_lines(tmp_path / "g.jsonl", ['{"id": 1}'])
    result = CliRunner().invoke(main, ["eval", str(gold), "--index", str(tmp_path / "no-index")])
    assert result.exit_code == 2
    assert "line 1" in result.stderr and "Traceback" not in result.output


def test_seeds_gold_set_is_well_formed_and_checked_against_the_text():
    items = evaluate.load_gold(ROOT / "gold" / "seeds.jsonl")
    assert len(items) >= 40
    assert sum(not g.answerable for g in items) >= 6
    assert {g.lang for g in items} == {"de", "en"}
    for g in items:
        for src in g.sources:
            assert (ROOT / "seeds" / src).exists(), src
        if g.answerable:
            texts = [(ROOT / "seeds" / s).read_text(encoding="utf-8") for s in g.sources]
            assert all(any(a in t for t in texts) for a in g.answers), g.id


GOLD = [
    evaluate.GoldItem("q1", "Wer?", ("Jason Droege",), ("004.txt",)),
    evaluate.GoldItem("q2", "Wo?", ("Los Alamos",), ("000.txt",)),
    evaluate.GoldItem("q3", "Umsatz 2019?", (), ()),
]


def item(id_, answer, abstained, cited, retrieved, mode):
    return {
        "id": id_,
        "answer": answer,
        "abstained": abstained,
        "mode": mode,
        "citations": [{"source": s} for s in cited],
        "retrieved": [{"source": s, "start": 0, "end": 10} for s in retrieved],
        "timings": {
            "retrieve_ms": 5.0,
            "generate_ms": 100.0,
            "total_ms": 110.0,
            "prompt_tokens": 300,
            "completion_tokens": 5,
        },
    }


def test_summary_recomputes_from_items():
    outs = [
        item("q1", "Jason Droege [1]", False, ["s/004.txt"], ["s/004.txt", "s/000.txt"], "generated"),
        item("q2", "In Berlin [1]", False, ["s/004.txt"], ["s/004.txt", "s/000.txt"], "extractive"),
        item("q3", "Die Quellen sagen dazu nichts.", True, [], ["s/004.txt"], "abstained"),
    ]
    items = []
    for g, out in zip(GOLD, outs):
        scores = evaluate.retrieval_scores(g, out["retrieved"], lambda *a: "")
        scores.update(evaluate.answer_scores(g, out))
        items.append({**out, "scores": scores})
    s = evaluate.summarize(items, GOLD, retrieval_only=False)
    assert s["hit@1"] == 0.5 and s["hit@5"] == 1.0 and s["mrr@10"] == 0.75
    assert s["accuracy"] == 0.5
    assert s["citation_precision"] == 0.5 and s["citation_recall"] == 0.5
    assert s["abstain_recall"] == 1.0 and s["abstain_precision"] == 1.0 and s["false_abstain_rate"] == 0.0
    assert s["mode_generated"] == pytest.approx(1 / 3)
    assert s["latency_ms_p50"] == 110.0 and s["tokens_per_second"] == pytest.approx(50.0)


def test_compare_prints_figures_beside_the_old_ones(tmp_path):
    new = {"summary": {"questions": 3, "accuracy": 0.75, "hit@1": 0.9}, "items": [], "config": {}}
    old = {"summary": {"questions": 3, "accuracy": 0.5, "hit@1": 0.9}, "items": [], "config": {}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    text = evaluate.table(new["summary"], evaluate.load_report(tmp_path / "old.json")["summary"])
    acc = next(line for line in text.splitlines() if line.startswith("answer accuracy"))
    assert acc.split()[-3:] == ["0.750", "0.500", "+0.250"]


def test_compare_with_a_file_that_is_not_a_report(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(evaluate.GoldError, match="not a rag eval report"):
        evaluate.load_report(tmp_path / "x.json")


def test_import_squad(tmp_path):
    squad = {
        "data": [
            {
                "title": "Köln Dom",
                "paragraphs": [
                    {
                        "context": "Der Dom steht in Köln.",
                        "qas": [
                            {
                                "id": "1",
                                "question": "Wo steht der Dom?",
                                "answers": [{"text": "Köln", "answer_start": 17}],
                            }
                        ],
                    },
                    {
                        "context": "Er wurde 1880 vollendet.",
                        "qas": [
                            {
                                "id": "2",
                                "question": "Wann wurde er vollendet?",
                                "answers": [{"text": "1880", "answer_start": 9}],
                            },
                            {"id": "3", "question": "Wer baute ihn?", "answers": [], "is_impossible": True},
                        ],
                    },
                ],
            }
        ]
    }
    (tmp_path / "s.json").write_text(json.dumps(squad), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "import-squad",
            str(tmp_path / "s.json"),
            "--corpus",
            str(tmp_path / "c"),
            "--gold",
            str(tmp_path / "g.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    items = evaluate.load_gold(tmp_path / "g.jsonl")
    assert [g.id for g in items] == ["1", "2", "3"]
    text = (tmp_path / "c" / items[0].sources[0]).read_text(encoding="utf-8")
    for g in items[:2]:
        assert text[g.answer_start : g.answer_start + len(g.answers[0])] == g.answers[0]
    assert items[2].answers == () and items[2].sources == ()


@pytest.mark.e2e
@pytest.mark.llm
def test_eval_on_three_questions_with_the_real_models(seeds_index, tmp_path):
    gold = write_lines(
        tmp_path / "g.jsonl",
        [
            '{"id": "a", "question": "Wer wird Interims-CEO von Scale AI?", "answers": ["Jason Droege"], '
            '"sources": ["004_a2122adb65b12522.txt"]}',
            '{"id": "b", "question": "Wo wurde Alexandr Wang geboren?", "answers": ["Los Alamos"], '
            '"sources": ["000_ed323026b9e620f8.txt"]}',
            '{"id": "c", "question": "Wie hoch war der Umsatz von Meta im Jahr 2019?", "answers": [], "sources": []}',
        ],
    )
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["eval", str(gold), "--index", str(seeds_index), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report) == {"summary", "items", "config"}
    s = report["summary"]
    assert s["questions"] == 3 and s["answerable"] == 2
    assert s["accuracy"] == 1.0 and s["hit@1"] == 1.0 and s["abstain_recall"] == 1.0
    for key in (
        "token_f1",
        "citation_precision",
        "citation_recall",
        "abstain_precision",
        "false_abstain_rate",
        "latency_ms_p50",
        "latency_ms_p95",
        "prompt_tokens_mean",
        "tokens_per_second",
        "mrr@10",
        "passage_hit@5",
    ):
        assert key in s
    for it in report["items"]:
        assert {"id", "question", "answer", "abstained", "citations", "retrieved", "timings", "scores"} <= set(it)
        assert len(it["retrieved"]) == 10
        # what the HTML report reads: gold, the gold file's rank, each citation's passage
        assert it["gold"]["answers"] == (["Jason Droege"] if it["id"] == "a" else it["gold"]["answers"])
        assert it["scores"]["gold_rank"] == (None if it["id"] == "c" else 1)
        for c in it["citations"]:
            p = next(p for p in it["passages"] if p["citation"] == c["id"])
            assert p["text"][c["start"] - p["start"] : c["end"] - p["start"]] == c["quote"]
    assert [len(it["passages"]) > 0 for it in report["items"]] == [True, True, False]
    assert 0 < report["config"]["abstain_threshold"] < 1
    assert report["config"]["k"] == 5 and report["config"]["model"].endswith(".gguf")
    assert "answer accuracy" in result.stdout

    again = CliRunner().invoke(
        main, ["eval", str(gold), "--index", str(seeds_index), "--retrieval-only", "--compare", str(out)]
    )
    assert again.exit_code == 0, again.output
    hit = next(line for line in again.stdout.splitlines() if line.startswith("retrieval hit@1"))
    assert hit.split()[-3:] == ["1.000", "1.000", "+0.000"]


def _item(gid, correct, short_em, lang="de"):
    return {
        "id": gid,
        "mode": "extractive",
        "lang": lang,
        "conflict": False,
        "timings": {
            "retrieve_ms": 1.0,
            "total_ms": 2.0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "generate_ms": 0.0,
        },
        "scores": {
            "hit@1": 1.0,
            "hit@5": 1.0,
            "mrr@10": 1.0,
            "passage_hit@5": 1.0,
            "correct": correct,
            "f1": 0.5,
            "short_em": short_em,
            "short_f1": short_em,
            "short_given": True,
            "abstained": False,
            "cited_files": 1,
            "cited_gold_files": 1,
            "words": 3,
        },
    }


def test_summary_scores_short_answers_consistency_and_groups():
    gold = [
        evaluate.GoldItem("a1", "q", ("x",), ("f",), "de", "single", fact="a"),
        evaluate.GoldItem("a2", "q", ("x",), ("f",), "en", "single", fact="a"),
        evaluate.GoldItem("b1", "q", ("y",), ("f",), "de", "multi", fact="b"),
        evaluate.GoldItem("b2", "q", ("y",), ("f",), "en", "multi", fact="b"),
    ]
    items = [
        _item("a1", True, 1.0),
        _item("a2", True, 0.0, "en"),
        _item("b1", True, 1.0),
        _item("b2", False, 0.0, "en"),
    ]
    s = evaluate.summarize(items, gold, retrieval_only=False)
    assert s["consistency"] == 0.5 and s["facts"] == 2  # fact b failed in English
    assert s["short_em"] == 0.5 and s["accuracy"] == 0.75
    assert s["groups"]["lang=de"]["short_em"] == 1.0 and s["groups"]["lang=en"]["accuracy"] == 0.5
    assert s["groups"]["type=multi"]["answerable"] == 2
    text = evaluate.table(s)
    assert "consistency (facts)" in text and "short EM [lang=en]" in text
