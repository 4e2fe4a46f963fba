"""Fit the answer stage's weights on dev gold sets and write rag/answer/fitted.json.

    python scripts/fit.py                      # seeds + XQuAD-de (German and English questions)
    python scripts/fit.py --dry-run            # print the fit and its figures, write nothing
    python scripts/fit.py --gold G.jsonl --corpus DIR [--gold ... --corpus ...]

What it fits, and on what:
1. Evidence weights: the weighted sum that picks the evidence sentence. Coordinate ascent
   over a grid, from the current weights, maximising the share of answerable questions whose
   best sentence holds a gold answer (the mean over the sets: each set counts the same).
2. The abstention rule: every question is answered with abstention switched off; a logistic
   regression on the best sentence's features predicts whether that answer is right (an
   unanswerable question's answer never is). Its threshold is the highest that abstains on
   at most --max-false-abstention of each set's answerable questions. Fitted twice: with the
   model's PMI score, and without it (for a server model that cannot score text).
For unanswerable questions, --leave-out articles of each corpus are left out of its index
and their questions become unanswerable (the seeds have their own).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import app  # noqa: E402
from rag.answer.tuning import (  # noqa: E402
    ABSTAIN_FEATURES,
    ABSTAIN_FEATURES_UNSCORED,
    EVIDENCE_FEATURES,
    FITTED,
    Tuning,
    load_tuning,
)
from rag.cli.render import answer_text  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval import calibrate, metrics  # noqa: E402
from rag.eval.run import GoldItem, load_gold  # noqa: E402

XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad-de-dev"
GRID = [round(x * 0.05, 2) for x in range(0, 21)]


@dataclass
class DevSet:
    name: str
    corpus: Path
    gold: list[GoldItem]
    evidence_x: list[np.ndarray] = field(default_factory=list)
    evidence_y: list[np.ndarray] = field(default_factory=list)
    abstain_x: list[dict] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)


def leave_out(name: str, corpus: Path, gold: list[GoldItem], every: int, work: Path) -> DevSet:
    """Every `every`-th article (sorted by name) leaves the corpus; its questions lose their answers."""
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    gone = {p.name for i, p in enumerate(files) if every and i % every == every - 1}
    if not gone:
        return DevSet(name, corpus, gold)
    kept = work / f"corpus-{name}"
    if kept.exists():
        shutil.rmtree(kept)
    kept.mkdir(parents=True)
    for p in files:
        if p.name not in gone:
            shutil.copy2(p, kept / p.name)
    gold = [replace(g, answers=(), sources=()) if any(Path(s).name in gone for s in g.sources) else g for g in gold]
    return DevSet(name, kept, gold)


def open_set(ds: DevSet, work: Path):
    index = work / f"index-{ds.name}"
    settings = load_settings(index=index)
    if not (index / "manifest.json").exists():
        app.index([ds.corpus], settings)
    return app.open_answerer(settings)


def collect_evidence(ds: DevSet, answerer) -> None:
    for g in ds.gold:
        if not g.answerable:
            continue
        cands = answerer.evidence_for(g.question)
        if cands:
            ds.evidence_x.append(np.array([[c.features()[f] for f in EVIDENCE_FEATURES] for c in cands]))
            ds.evidence_y.append(np.array([metrics.contains_answer(c.text, list(g.answers)) for c in cands], float))


def collect_answers(ds: DevSet, answerer) -> None:
    for g in ds.gold:
        a = answerer.ask(g.question)
        ds.abstain_x.append(a.trace.get("features", {}))
        ds.right.append(g.answerable and not a.abstained and metrics.contains_answer(answer_text(a), list(g.answers)))


def fit_abstention(sets: list[DevSet], names: tuple[str, ...], max_false: float) -> tuple[dict, float, list[dict]]:
    def matrix(ds: DevSet) -> np.ndarray:
        return np.array([[f.get(n, 0.0) for n in names] for f in ds.abstain_x])

    x = np.vstack([matrix(ds) for ds in sets])
    y = np.concatenate([np.array(ds.right, float) for ds in sets])
    w, _ = calibrate.fit_logistic(x, y, l2=1.0)
    scores = [matrix(ds) @ w for ds in sets]
    answerable = [np.array([g.answerable for g in ds.gold]) for ds in sets]
    threshold = calibrate.threshold_for(scores, answerable, max_false)
    figures = []
    for ds, s, ans in zip(sets, scores, answerable):
        r = calibrate.rates(s, ans, threshold)
        kept = s >= threshold
        right = np.array(ds.right)
        r["accuracy"] = float(right[ans & kept].sum() / max(ans.sum(), 1))
        figures.append({"set": ds.name, **r})
    return {n: round(float(v), 4) for n, v in zip(names, w)}, round(float(threshold), 4), figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, action="append", help="Gold set (JSON Lines); pairs with --corpus.")
    parser.add_argument("--corpus", type=Path, action="append", help="Folder the gold set is about.")
    parser.add_argument("--leave-out", type=int, default=4, help="Every N-th article leaves the index (0: none).")
    parser.add_argument("--max-false-abstention", type=float, default=0.10)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rag-fit")
    parser.add_argument(
        "--reuse", action="store_true", help="Reuse the candidate features of an earlier run in --work."
    )
    parser.add_argument("--dry-run", action="store_true", help="Print the fit; do not write fitted.json.")
    args = parser.parse_args()
    pairs = list(zip(args.gold or [], args.corpus or []))
    if not pairs:
        pairs = [
            (ROOT / "gold" / "seeds.jsonl", ROOT / "seeds"),
            (XQUAD / "gold-de.jsonl", XQUAD / "corpus"),
            (XQUAD / "gold-en.jsonl", XQUAD / "corpus"),
        ]
    args.work.mkdir(parents=True, exist_ok=True)
    current = load_tuning()
    sets = []
    for gold_path, corpus in pairs:
        name = f"{corpus.name}-{gold_path.stem}"
        every = 0 if corpus.resolve() == (ROOT / "seeds").resolve() else args.leave_out
        sets.append(leave_out(name, corpus, load_gold(gold_path), every, args.work))

    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    for ds in sets:
        # candidate features do not depend on the weights: kept in the work folder for a refit
        cached = args.work / f"evidence-{ds.name}.npz"
        if args.reuse and cached.exists():
            data = np.load(cached, allow_pickle=True)
            ds.evidence_x, ds.evidence_y = list(data["x"]), list(data["y"])
            continue
        log(f"{ds.name}: evidence candidates ...")
        answerer = open_set(ds, args.work)
        answerer.tuning = current
        collect_evidence(ds, answerer)
        np.savez(cached, x=np.array(ds.evidence_x, dtype=object), y=np.array(ds.evidence_y, dtype=object))
    start = np.array([current.evidence_weights[f] for f in EVIDENCE_FEATURES])
    w = calibrate.coordinate_ascent(start, [(ds.evidence_x, ds.evidence_y) for ds in sets], GRID)
    evidence_weights = {f: round(float(v), 2) for f, v in zip(EVIDENCE_FEATURES, w)}
    evidence_figures = [
        {
            "set": ds.name,
            "before": round(calibrate.top1_rate(start, ds.evidence_x, ds.evidence_y), 3),
            "after": round(calibrate.top1_rate(w, ds.evidence_x, ds.evidence_y), 3),
        }
        for ds in sets
    ]

    fitting = replace(current, evidence_weights=evidence_weights).without_abstention()
    for ds in sets:
        log(f"{ds.name}: answering without abstention ...")
        answerer = open_set(ds, args.work)
        answerer.tuning = fitting
        collect_answers(ds, answerer)
    weights, below, figures = fit_abstention(sets, ABSTAIN_FEATURES, args.max_false_abstention)
    weights_u, below_u, figures_u = fit_abstention(sets, ABSTAIN_FEATURES_UNSCORED, args.max_false_abstention)

    fit = {
        "by": "scripts/fit.py",
        "sets": [ds.name for ds in sets],
        "leave_out_every": args.leave_out,
        "max_false_abstention": args.max_false_abstention,
        "evidence_top1_holds_answer": evidence_figures,
        "abstention": figures,
        "abstention_unscored": figures_u,
    }
    tuned = Tuning(evidence_weights, weights, below, weights_u, below_u, fit)
    print(json.dumps(tuned.to_json(), indent=1, ensure_ascii=False))
    if not args.dry_run:
        FITTED.write_text(json.dumps(tuned.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"written to {FITTED}")


if __name__ == "__main__":
    main()
