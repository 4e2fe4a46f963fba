import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ask_json

from rag.cli import main
from rag.index.lexical import LexicalIndex
from rag.index.retrieve import zscore
from rag.lang.text import analyze, compound_parts

VOCAB = set(analyze("Fehler Quelle Wikinger Siedler Investition Kapital Bevölkerung Gruppe Verteidigung", "de"))


@pytest.mark.parametrize(
    "word, parts",
    [
        ("fehlerquelle", ["fehl", "quell"]),
        ("wikingersiedlern", ["wiking", "siedl"]),
        ("investitionskapital", ["invest", "kapital"]),  # linking -s- dropped
        ("bevölkerungsgruppen", ["bevolker", "grupp"]),
        ("verteidigungsministerium", []),  # "ministerium" unknown: no split
        ("quelle", []),  # too short to be a compound
        ("km2", []),
    ],
)
def test_compound_parts(word, parts):
    assert compound_parts(word, VOCAB.__contains__) == parts


def test_query_stopwords_of_both_languages_are_dropped():
    lex = LexicalIndex.build(
        ["Doctor Who ist eine britische Serie.", "Die Hugenotten siedelten in Amerika."], ["de", "de"]
    )
    assert "who" not in lex.query_terms("Who settled in Amerika?")
    scores = lex.scores("Who settled in Amerika?")
    assert scores[0] == 0 and scores[1] > 0


def test_compound_in_question_matches_its_parts_in_text():
    lex = LexicalIndex.build(["Die Quelle des Fehlers war ein Bericht.", "Die Investition war hoch."], ["de", "de"])
    assert lex.scores("Was war die Fehlerquelle?").argmax() == 0


@pytest.mark.parametrize(
    "texts, question, term",
    [
        # Snowball keeps a verb's "-t" ("sitzt"), not the noun's ("Sitz" -> "sitz")
        (["Das Unternehmen mit Sitz in San Francisco."], "In welcher Stadt sitzt Scale AI?", "sitz"),
        (["Ihr Leben in Berlin."], "Wo lebt Wang?", "leb"),
        # a corpus that knows the verb form keeps it; one that knows neither form leaves it
        (["Sie sitzt hier.", "Mit Sitz in Berlin."], "In welcher Stadt sitzt Scale AI?", "sitzt"),
        (["Ihr Leben in Berlin."], "Wo tanzt Wang?", "tanzt"),
    ],
)
def test_a_verb_the_corpus_does_not_know_is_matched_by_its_stem(texts, question, term):
    from rag.answer.parse import read_question

    asked = read_question(question, LexicalIndex.build(texts, ["de"] * len(texts)))
    assert term in asked.question.terms and term in asked.query.terms


def test_zscore():
    assert np.allclose(zscore(np.array([1.0, 2.0, 3.0])), [-1.2247, 0.0, 1.2247], atol=1e-4)
    assert np.allclose(zscore(np.array([2.0, 2.0])), [0.0, 0.0])


@pytest.mark.e2e
@pytest.mark.parametrize(
    "question, source",
    [
        ("Wer wird Interims-CEO von Scale AI?", "004_a2122adb65b12522.txt"),
        ("Who becomes interim CEO of Scale AI?", "004_a2122adb65b12522.txt"),
        ("Where was Alexandr Wang born?", "000_ed323026b9e620f8.txt"),
        ("In welcher Zeitung schaltete Wang eine Anzeige?", "002_ddd515a157be102d.txt"),
    ],
)
@pytest.mark.llm
def test_hybrid_retrieval_ranks_the_file_high(seeds_index, question, source):
    out = ask_json(seeds_index, question)
    assert any(r["source"].endswith(source) for r in out["retrieved"][:2])


@pytest.mark.e2e
@pytest.mark.parametrize("retriever", ["dense", "lexical"])
@pytest.mark.llm
def test_comparison_retrievers(seeds_index, retriever):
    out = ask_json(seeds_index, "In welcher Zeitung schaltete Wang eine Anzeige?", "--retriever", retriever, "-k", "3")
    assert len(out["retrieved"]) == 3
    assert any(r["source"].endswith("002_ddd515a157be102d.txt") for r in out["retrieved"][:2])


@pytest.mark.e2e
def test_cross_lingual_question_gets_less_lexical_weight(seeds_index):
    from rag import app
    from rag.config import load_settings

    r = app.open_retriever(load_settings(index=seeds_index))
    assert r.lexical_weight("Who becomes interim CEO of Scale AI?") < r.lexical_weight(
        "Wer wird Interims-CEO von Scale AI?"
    )


@pytest.mark.e2e
def test_eval_retrieval_only_gives_the_benchmark_figures(seeds_index, tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT

    bench = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_retrieval.py"),
            "--corpus",
            str(ROOT / "seeds"),
            "--gold",
            str(ROOT / "gold" / "seeds.jsonl"),
            "--embedders",
            "use",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    row = next(r for r in json.loads(bench.stdout) if r["retriever"].startswith("hybrid"))
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(ROOT / "gold" / "seeds.jsonl"),
            "--index",
            str(seeds_index),
            "--retrieval-only",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())["summary"]
    for key in ("hit@1", "hit@5", "mrr@10", "passage_hit@5"):
        assert summary[key] == pytest.approx(row[key]), key


def test_lexical_index_scores_like_bm25s():
    import bm25s
    from conftest import SEEDS

    from rag.lang.text import analyze

    texts = [
        line for f in sorted(SEEDS.glob("*.txt")) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    ours = LexicalIndex.build(texts, ["de"] * len(texts))
    words = {t for x in texts for t in analyze(x, "de")}
    ref = bm25s.BM25()
    ref.index([analyze(x, "de", known=words.__contains__) for x in texts], show_progress=False)
    for q in ["Wo wurde Wang geboren?", "Umsatz von Scale AI", "Meta Meta investiert", "Atombombe Physiker"]:
        assert np.allclose(ours.scores(q), ref.get_scores(ours.query_terms(q)), atol=1e-5)


@pytest.mark.e2e
@pytest.mark.llm
def test_large_index_layout_answers_the_same(tmp_path):
    """Above the size thresholds the index is compressed and, with sentence_vectors_up_to
    set, keeps no sentence vectors (a question embeds its chunks' sentences)."""
    import json

    from conftest import SEEDS

    from rag import app
    from rag.config import load_settings

    settings = load_settings(index=tmp_path / "idx")
    from dataclasses import replace

    settings = replace(settings, exact_search_up_to=1, sentence_vectors_up_to=1)
    app.index([SEEDS], settings)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["vector_index"].startswith("ivf") and manifest["sentence_vectors"] is False
    assert not (tmp_path / "idx" / "sentence_vectors.npy").exists()
    out = ask_json(tmp_path / "idx", "Wer wird Interims-CEO von Scale AI?")
    assert "Jason Droege" in out["answer"]
    assert out["citations"][0]["source"].endswith("004_a2122adb65b12522.txt")
