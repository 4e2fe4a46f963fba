#!/usr/bin/env python
"""Warm answer latency of this checkout beside another commit's, measured in the same run.

    python scripts/bench_answer.py                       # against HEAD (uncommitted changes vs last commit)
    python scripts/bench_answer.py --against HEAD~1 --questions 20 --rounds 3

Each tree answers the same questions over its own index of the same corpus, in its own
fresh process (model loaded and warmed up first, not timed); the two alternate, round by
round, so that a busy machine slows both alike. Printed: per tree the median over rounds of
each question's time, their p50 and p95, and the ratio (this checkout / the other).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs inside each tree's own process (PYTHONPATH = that tree): answers every question once
# after a warm-up question, prints the milliseconds of each.
TIMER = """
import json, sys, time
from pathlib import Path
from rag import app
from rag.config import load_settings
index, corpus, questions = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
settings = load_settings(index=index)
if not (index / "manifest.json").exists():
    app.index([corpus], settings)
answerer = app.open_answerer(settings)
answerer.ask(questions[0])
out = []
for q in questions:
    t = time.perf_counter()
    answerer.ask(q)
    out.append((time.perf_counter() - t) * 1000)
print(json.dumps(out))
"""


def export(ref: str, dest: Path) -> Path:
    """The tree of commit `ref`, written out (no worktree left behind)."""
    data = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def time_tree(tree: Path, index: Path, corpus: Path, questions: list[str]) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", TIMER, str(index), str(corpus), json.dumps(questions)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: answering failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="HEAD", help="The commit to compare with (default: HEAD).")
    parser.add_argument("--gold", type=Path, default=ROOT / "gold" / "seeds_paraphrase.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows][: args.questions]
    with tempfile.TemporaryDirectory(prefix="rag-bench-answer-") as tmp:
        work = Path(tmp)
        trees = {args.against: export(args.against, work / "other"), "this checkout": ROOT}
        times: dict[str, list[list[float]]] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name, tree in trees.items():
                index = work / f"index-{'this' if tree == ROOT else 'other'}"
                times[name].append(time_tree(tree, index, args.corpus, questions))
                print(f"round {r + 1}/{args.rounds}: {name} done", file=sys.stderr, flush=True)
    per_q = {name: [statistics.median(qs) for qs in zip(*runs)] for name, runs in times.items()}
    other, this = per_q[args.against], per_q["this checkout"]
    print(f"{len(questions)} questions from {args.gold.name}, median of {args.rounds} rounds, warm (ms)")
    print(f"{'':<14}{args.against:>14}{'this checkout':>16}{'ratio':>8}")
    for label, q in (("p50", 0.5), ("p95", 0.95)):
        a, b = pct(other, q), pct(this, q)
        print(f"{label:<14}{a:>14.0f}{b:>16.0f}{b / a:>8.2f}")
    a, b = statistics.mean(other), statistics.mean(this)
    print(f"{'mean':<14}{a:>14.0f}{b:>16.0f}{b / a:>8.2f}")


if __name__ == "__main__":
    main()
