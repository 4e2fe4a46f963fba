#!/usr/bin/env python
"""A large synthetic corpus for scale benchmarks: real German articles repeated with
perturbations, so that no two chunks are identical (identical vectors would flatter an
approximate index).

    python scripts/synthetic_corpus.py --out /tmp/synth-100k --chunks 100000

Each output file is one "edition": all source articles, paragraphs in a shuffled order,
sentences shuffled within paragraphs and about one in ten dropped. 108k characters of
XQuAD-de make about 120 chunks of 1200 characters, so 100,000 chunks take ~700 editions.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "benchmarks" / "xquad-de-dev" / "corpus"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ0-9„\"])")


def edition(paragraphs: list[str], rng: random.Random, number: int) -> str:
    out = [f"Ausgabe {number}"]
    for para in rng.sample(paragraphs, len(paragraphs)):
        sentences = [s for s in SENTENCE.split(para) if rng.random() > 0.1] or [para]
        if len(sentences) > 2:
            head, rest = sentences[0], sentences[1:]
            rng.shuffle(rest)
            sentences = [head, *rest]
        out.append(" ".join(sentences))
    return "\n\n".join(out) + "\n"


def synthesize(
    out_dir: Path, chunks: int, source: Path = DEFAULT_SOURCE, chunk_chars: int = 1200, seed: int = 0
) -> int:
    """Write editions into out_dir until they hold about `chunks` chunks; returns the file count.
    Reuses out_dir when it already holds the same request (a stamp file records it)."""
    stamp = out_dir / ".synthetic"
    request = f"{chunks} {chunk_chars} {seed} {source}"
    if stamp.exists() and stamp.read_text() == request:
        return sum(1 for _ in out_dir.glob("*.txt"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    paragraphs = [
        p.strip()
        for f in sorted(source.glob("*.txt"))
        for p in f.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    rng = random.Random(seed)
    total_chars, target, n = 0, chunks * chunk_chars * 0.72, 0  # sentence-bounded chunks run ~72% full
    while total_chars < target:
        text = edition(paragraphs, rng, n)
        (out_dir / f"edition_{n:05d}.txt").write_text(text, encoding="utf-8")
        total_chars += len(text)
        n += 1
    stamp.write_text(request)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    files = synthesize(args.out, args.chunks, args.source)
    print(f"{files} files in {args.out}")


if __name__ == "__main__":
    main()
