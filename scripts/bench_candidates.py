"""Measure candidate short answers (rag/answer/candidates.py) per tagger: speed, load time,
install size, licence, and how often an XQuAD-de gold answer is exactly one of the candidates.

    python scripts/bench_candidates.py [--bench DIR] [--limit N] [--extra-path DIR]

Backends: "hanta" (what rag uses: HanTa on rag's own tokens), "hanta+somajo" (HanTa on
SoMaJo's tokens) and "simplemma" (lemmas only; tags guessed from capitals and function
words). A backend whose package is not installed is skipped; --extra-path adds a folder of
packages installed elsewhere (pip install --target DIR somajo simplemma) to try them.

recall: the gold answer is the text of a candidate of its sentence; compatible recall: ... of
a candidate that `compatible` lets through for the question's kind (question.answer_kind).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.candidates import AnswerCandidate, compatible, from_tokens  # noqa: E402
from rag.answer.question import answer_kind  # noqa: E402
from rag.lang.lexicon import ARTICLES, PLACE_PREPOSITIONS, STOPWORDS, TIME_PREPOSITIONS  # noqa: E402
from rag.lang.tagger import Token, tokenize  # noqa: E402
from rag.lang.text import sentence_spans  # noqa: E402

Tagger = Callable[[str, int], Sequence[Token]]
DIST = {"hanta": "HanTa", "hanta+somajo": "SoMaJo", "simplemma": "simplemma"}


def hanta_backend() -> Tagger:
    from rag.lang import tagger

    tagger._hanta("de")
    return lambda s, off: tagger.tag(s, off, "de")


def somajo_backend() -> Tagger:
    from somajo import SoMaJo

    from rag.lang import tagger

    tok = SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)
    hanta = tagger._hanta("de")

    def run(s: str, off: int) -> list[Token]:
        toks = [t for sent in tok.tokenize_text([s]) for t in sent]
        tagged = hanta.tag_sent([t.text for t in toks], taglevel=1)
        return [
            Token(t.text, off + t.character_offset[0], off + t.character_offset[1], tagger._stts(p, "de"), lemma)
            for t, (_, lemma, p) in zip(toks, tagged, strict=True)
        ]

    return run


def simplemma_backend() -> Tagger:
    import simplemma

    preps = set(PLACE_PREPOSITIONS["de"]) | set(TIME_PREPOSITIONS["de"])

    def guess(word: str, first: bool) -> str:
        w = word.lower()
        if w in ARTICLES["de"]:
            return "ART"
        if w in preps:
            return "APPR"
        if any(c.isdigit() for c in word):
            return "CARD"
        if w in STOPWORDS["de"] or not word[:1].isalpha():
            return "X"
        if word[:1].isupper() and not first:
            # a noun whose lemma is itself and which no dictionary knows lower-cased: a name
            unknown = simplemma.lemmatize(word, lang="de") == word and not simplemma.is_known(w, lang="de")
            return "NE" if unknown else "NN"
        return "X"

    def run(s: str, off: int) -> list[Token]:
        return [
            Token(t, a, b, guess(t, k == 0), simplemma.lemmatize(t, lang="de"))
            for k, (t, a, b) in enumerate(tokenize(s, off))
        ]

    run("Warm up .", 0)  # loads the German dictionary
    return run


BACKENDS: dict[str, Callable[[], Tagger]] = {
    "hanta": hanta_backend,
    "hanta+somajo": somajo_backend,
    "simplemma": simplemma_backend,
}


def install_size(dist: str) -> tuple[float, str]:
    """(MB on disk of the distribution's files, its licence)."""
    d = md.distribution(dist)
    paths = [Path(str(d.locate_file(f))) for f in d.files or []]
    size = sum(p.stat().st_size for p in paths if p.exists())
    meta = d.metadata
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    lic = meta.get("License-Expression") or (classifiers[0] if classifiers else meta.get("License", "?"))
    return size / 1e6, str(lic)[:40]


def gold_items(bench: Path) -> list[dict]:
    """German and English questions (the English ones carry the German answer too)."""
    items = []
    for lang in ("de", "en"):
        path = bench / f"gold-{lang}.jsonl"
        if path.exists():
            items += [json.loads(line) for line in path.open(encoding="utf-8")]
    return items


def run(bench: Path, limit: int | None) -> None:
    corpus = bench / "corpus"
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))}
    all_sents = [(t[s:e], s) for t in texts.values() for s, e in sentence_spans(t)]
    speed_sents = all_sents[:400]
    golds = [g for g in gold_items(bench) if g.get("answer_start") is not None][: limit or None]
    # the sentence that holds each gold answer
    cases = []
    for g in golds:
        text, a, ans = texts[g["sources"][0]], g["answer_start"], g["answers"][0]
        span = next(((s, e) for s, e in sentence_spans(text) if s <= a and a + len(ans) <= e), None)
        cases.append((g, ans, span, text))

    print(
        f"{len(golds)} gold answers ({sum(1 for c in cases if c[2] is None)} cross a sentence boundary), "
        f"speed on {len(speed_sents)} corpus sentences\n"
    )
    cols = ("load s", "sent/s", "MB", "licence", "recall", "compat", "cand/sent", "compat/q")
    print(
        f"{'backend':14} {cols[0]:>7} {cols[1]:>7} {cols[2]:>6} {cols[3]:24} " + " ".join(f"{c:>9}" for c in cols[4:])
    )
    per_kind: dict[str, dict[str, list[int]]] = {}
    for name, make in BACKENDS.items():
        try:
            t0 = time.perf_counter()
            tagger = make()
            load = time.perf_counter() - t0
        except ImportError as e:
            print(f"{name:14} skipped ({e})")
            continue
        t0 = time.perf_counter()
        for s, off in speed_sents:
            from_tokens(s, off, tagger(s, off))
        speed = len(speed_sents) / (time.perf_counter() - t0)
        mb, lic = install_size(DIST[name])
        hit = hit_c = n_c = n_cc = 0
        kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        cache: dict[tuple[int, int, str], list[AnswerCandidate]] = {}
        for g, ans, span, text in cases:
            kind = answer_kind(g["question"])
            cands: list[AnswerCandidate] = []
            if span:
                key = (*span, g["sources"][0])
                if key not in cache:
                    s, e = span
                    cache[key] = from_tokens(text[s:e], s, tagger(text[s:e], s))
                cands = cache[key]
            texts_all = {c.text for c in cands}
            texts_ok = {c.text for c in cands if compatible(kind, c)}
            n_c += len(cands)
            n_cc += len(texts_ok)
            hit += ans in texts_all
            hit_c += ans in texts_ok
            k = kinds[f"{g['lang']}:{kind}"]
            k[0] += 1
            k[1] += ans in texts_all
            k[2] += ans in texts_ok
        n = len(cases)
        figures = (hit / n, hit_c / n, n_c / n, n_cc / n)
        print(f"{name:14} {load:7.2f} {speed:7.0f} {mb:6.1f} {lic[:24]:24} " + " ".join(f"{f:9.3f}" for f in figures))
        per_kind[name] = kinds
    for name, kinds in per_kind.items():
        print(f"\n{name}: by question language:kind  (n, recall, compatible recall)")
        for k, (n, h, hc) in sorted(kinds.items()):
            print(f"  {k:14} {n:4d}  {h / n:.3f}  {hc / n:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=Path("/work/shared/benchmarks/xquad-de-dev"))
    ap.add_argument("--limit", type=int, default=None, help="first N gold questions only")
    ap.add_argument("--extra-path", type=Path, default=None, help="a folder of packages to try other backends")
    args = ap.parse_args()
    if args.extra_path:
        sys.path.append(str(args.extra_path))
    run(args.bench, args.limit)


if __name__ == "__main__":
    main()
