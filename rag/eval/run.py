"""Gold question sets, per-question scores, summaries and comparisons.

A report is {"summary": {...}, "items": [...], "config": {...}}. Each item is the object
`rag ask --json` prints plus `id` and `scores`, so every summary figure can be recomputed
from the items alone.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.answer.citations import strip_markers
from rag.errors import RagError
from rag.eval import metrics

RETRIEVAL_DEPTH = 10  # ranks scored for MRR@10; the answer itself uses the top k


class GoldError(RagError):
    exit_code = 2


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answers: tuple[str, ...]
    sources: tuple[str, ...]
    lang: str | None = None
    type: str | None = None
    answer_start: int | None = None
    fact: str | None = None  # paraphrases of one fact share it: consistency is scored over them

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def _validate(obj, seen: set[str]) -> str | None:
    if not isinstance(obj, dict):
        return "not a JSON object"
    for key in ("id", "question"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            return f"'{key}' must be a non-empty string"
    for key in ("answers", "sources"):
        if not isinstance(obj.get(key), list) or not all(isinstance(x, str) for x in obj[key]):
            return f"'{key}' must be a list of strings"
    if obj["answers"] and not obj["sources"]:
        return "an answerable question needs at least one source"
    if "answer_start" in obj and obj["answer_start"] is not None and not isinstance(obj["answer_start"], int):
        return "'answer_start' must be an integer"
    for key in ("lang", "type", "fact"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], str):
            return f"'{key}' must be a string"
    if obj["id"] in seen:
        return f"duplicate id {obj['id']!r}"
    return None


def load_gold(path: Path) -> list[GoldItem]:
    """Parse a JSON Lines gold file; refuse the whole file if any line is malformed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GoldError(f"gold file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"cannot read gold file {path} ({exc}); it must be UTF-8 JSON Lines") from None
    items: list[GoldItem] = []
    errors: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: invalid JSON ({exc.msg})")
            continue
        problem = _validate(obj, seen)
        if problem:
            errors.append(f"line {n}: {problem}")
            continue
        seen.add(obj["id"])
        items.append(
            GoldItem(
                obj["id"],
                obj["question"],
                tuple(obj["answers"]),
                tuple(obj["sources"]),
                obj.get("lang"),
                obj.get("type"),
                obj.get("answer_start"),
                obj.get("fact"),
            )
        )
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise GoldError(
            f"{path} has {len(errors)} malformed line(s): {'; '.join(errors[:5])}{more}; fix them and run again"
        )
    if not items:
        raise GoldError(f"{path} holds no questions")
    return items


def sample(items: list[GoldItem], n: int | None) -> list[GoldItem]:
    """n items spread evenly over the list (every article of a benchmark, not the first few)."""
    if not n or n >= len(items):
        return items
    return [items[i * len(items) // n] for i in range(n)]


# ---------------------------------------------------------------- scoring


def retrieval_scores(item: GoldItem, retrieved: list[dict], chunk_text: Callable[[str, int, int], str]) -> dict:
    files = metrics.file_ranking([r["source"] for r in retrieved])
    spans = [(r["source"], r["start"], r["end"]) for r in retrieved]
    out: dict[str, float | None] = {
        "gold_rank": None,
        "hit@1": None,
        "hit@5": None,
        "mrr@10": None,
        "passage_hit@5": None,
    }
    if not item.answerable:
        return out
    out["gold_rank"] = metrics.first_rank(files, list(item.sources))
    out["hit@1"] = metrics.hit_at(files, list(item.sources), 1)
    out["hit@5"] = metrics.hit_at(files, list(item.sources), 5)
    out["mrr@10"] = metrics.reciprocal_rank(files, list(item.sources), 10)
    if item.answer_start is not None:
        out["passage_hit@5"] = metrics.passage_hit(spans, list(item.sources), item.answer_start, 5)
    else:  # no offset given: a top-5 chunk of a gold file contains a gold answer string
        out["passage_hit@5"] = (
            1.0
            if any(
                metrics.source_matches(s, list(item.sources))
                and metrics.contains_answer(chunk_text(s, a, b), list(item.answers))
                for s, a, b in spans[:5]
            )
            else 0.0
        )
    return out


def gold_json(item: GoldItem) -> dict:
    """What the gold set says of a question, kept in the report beside the answer."""
    return {"answers": list(item.answers), "sources": list(item.sources), "lang": item.lang, "type": item.type}


def answer_scores(item: GoldItem, out: dict) -> dict:
    cited = metrics.file_ranking([c["source"] for c in out.get("citations", [])])
    abstained = bool(out.get("abstained"))
    if item.answerable:
        correct = (not abstained) and metrics.contains_answer(out["answer"], list(item.answers))
        f1 = 0.0 if abstained else metrics.token_f1(strip_markers(out["answer"]), list(item.answers))
    else:
        correct, f1 = abstained, None
    # the short answer alone, SQuAD-style; an answerable question without one scores 0
    short = "" if abstained else ((out.get("short") or {}).get("text") or "")
    short_em = metrics.exact_match(short, list(item.answers)) if item.answerable and short else 0.0
    short_f1 = metrics.token_f1(short, list(item.answers)) if item.answerable and short else 0.0
    return {
        "correct": correct,
        "f1": f1,
        "short_em": short_em if item.answerable else None,
        "short_f1": short_f1 if item.answerable else None,
        "short_given": bool(short),
        "abstained": abstained,
        "cited_files": len(cited),
        "cited_gold_files": sum(metrics.source_matches(f, list(item.sources)) for f in cited),
        "words": len(strip_markers(out.get("answer", "")).split()),
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def summarize(items: list[dict], gold: list[GoldItem], retrieval_only: bool) -> dict:
    by_id = {g.id: g for g in gold}
    answerable = [it for it in items if by_id[it["id"]].answerable]
    s: dict = {"questions": len(items), "answerable": len(answerable)}
    for key in ("hit@1", "hit@5", "mrr@10", "passage_hit@5"):
        vals = [it["scores"][key] for it in answerable if it["scores"][key] is not None]
        s[key] = metrics.mean(vals)
    retrieve_ms = [it["timings"]["retrieve_ms"] for it in items]
    s["retrieve_ms_p50"] = metrics.percentile(retrieve_ms, 50)
    if retrieval_only:
        return s
    sc = [it["scores"] for it in items]
    s["accuracy"] = metrics.mean([float(it["scores"]["correct"]) for it in answerable])
    s["token_f1"] = metrics.mean([it["scores"]["f1"] for it in answerable])
    s["citation_precision"] = _ratio(sum(x["cited_gold_files"] for x in sc), sum(x["cited_files"] for x in sc))
    s["citation_recall"] = metrics.mean([float(it["scores"]["cited_gold_files"] > 0) for it in answerable])
    s.update(metrics.abstention([x["abstained"] for x in sc], [by_id[it["id"]].answerable for it in items]))
    for mode in ("generated", "extractive", "abstained"):
        s[f"mode_{mode}"] = metrics.mean([float(it.get("mode") == mode) for it in items])
    s["conflicts"] = sum(bool(it.get("conflict")) for it in items)
    s["answer_words_median"] = metrics.percentile([x["words"] for x in sc if not x["abstained"]], 50)
    total = [it["timings"]["total_ms"] for it in items]
    s["latency_ms_p50"] = metrics.percentile(total, 50)
    s["latency_ms_p95"] = metrics.percentile(total, 95)
    s["prompt_tokens_mean"] = metrics.mean([it["timings"]["prompt_tokens"] for it in items])
    s["completion_tokens_mean"] = metrics.mean([it["timings"]["completion_tokens"] for it in items])
    gen_s = sum(it["timings"]["generate_ms"] for it in items if it["timings"]["completion_tokens"]) / 1000
    s["tokens_per_second"] = _ratio(sum(it["timings"]["completion_tokens"] for it in items), gen_s)
    s.update(_answer_figures(answerable))
    by_fact: dict[str, list[bool]] = {}
    for it in items:
        fact = by_id[it["id"]].fact
        if fact:
            by_fact.setdefault(fact, []).append(bool(it["scores"]["correct"]))
    if by_fact:
        s["consistency"] = metrics.consistency(by_fact)
        s["facts"] = len(by_fact)
    groups: dict[str, list[dict]] = {}
    for it in answerable:
        g = by_id[it["id"]]
        groups.setdefault(f"lang={g.lang or it.get('lang') or '?'}", []).append(it)
        if g.type:
            groups.setdefault(f"type={g.type}", []).append(it)
    if len(groups) > 1:
        s["groups"] = {name: {"answerable": len(its), **_answer_figures(its)} for name, its in sorted(groups.items())}
    return s


def _answer_figures(answerable: list[dict]) -> dict:
    """Accuracy (the answer contains a gold answer) and the short answer's EM and F1."""
    sc = [it["scores"] for it in answerable]
    return {
        "accuracy": metrics.mean([float(x["correct"]) for x in sc]),
        "short_em": metrics.mean([x["short_em"] for x in sc]),
        "short_f1": metrics.mean([x["short_f1"] for x in sc]),
        "short_given": metrics.mean([float(x["short_given"]) for x in sc]),
    }


# ---------------------------------------------------------------- running


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def retrieve_only(retriever, question: str, depth: int, mode: str = "hybrid") -> dict:
    """The retrieval half of `rag ask`, timed the same way: embed the question, search."""
    t0 = time.perf_counter()
    hits = retriever.search(question, depth, mode)
    ms = (time.perf_counter() - t0) * 1000
    return {
        "question": question,
        "retrieved": [
            {"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end, "score": round(float(h.score), 6)}
            for h in hits
        ],
        "timings": {"retrieve_ms": round(ms, 2)},
    }


def run(
    gold: list[GoldItem],
    retriever,
    answerer=None,
    k: int = 5,
    mode: str = "hybrid",
    strategy: str = "checked",
    progress: Callable[[int, int, float | None], None] | None = None,
) -> tuple[list[dict], dict]:
    """Answer (or only retrieve, when answerer is None) every gold question; models stay loaded."""
    from rag.cli.render import answer_json, cited_passages  # the object `rag ask --json` prints

    chunk_texts = {(c.source, c.start, c.end): c.text for c in retriever.index.chunks}

    def chunk_text(source: str, start: int, end: int) -> str:
        return chunk_texts.get((source, start, end), "")

    items, correct, answered = [], 0, 0
    depth = max(k, RETRIEVAL_DEPTH)
    for i, g in enumerate(gold, 1):
        if answerer is None:
            out = retrieve_only(retriever, g.question, depth, mode)
        else:
            answer = answerer.ask(g.question, k=k, retriever=mode, depth=depth, strategy=strategy)
            # each citation's passage, so a report can show the cited span in its context
            out = {**answer_json(answer), "trace": answer.trace, "passages": cited_passages(answer)}
        scores = retrieval_scores(g, out["retrieved"], chunk_text)
        if answerer is not None:
            scores.update(answer_scores(g, out))
            if g.answerable:
                answered += 1
                correct += scores["correct"]
        items.append({"id": g.id, **out, "gold": gold_json(g), "scores": scores})
        if progress:
            progress(i, len(gold), correct / answered if answered else None)
    return items, summarize(items, gold, answerer is None)


# ---------------------------------------------------------------- presenting

# (key, label, format) in the order they are printed
FIGURES = [
    ("questions", "questions", "d"),
    ("answerable", "answerable", "d"),
    ("hit@1", "retrieval hit@1 (file)", ".3f"),
    ("hit@5", "retrieval hit@5 (file)", ".3f"),
    ("mrr@10", "retrieval MRR@10 (file)", ".3f"),
    ("passage_hit@5", "passage hit@5", ".3f"),
    ("accuracy", "answer accuracy", ".3f"),
    ("token_f1", "answer token F1", ".3f"),
    ("short_given", "short answer given", ".3f"),
    ("short_em", "short answer EM", ".3f"),
    ("short_f1", "short answer F1", ".3f"),
    ("consistency", "consistency (facts)", ".3f"),
    ("citation_precision", "citation precision", ".3f"),
    ("citation_recall", "citation recall", ".3f"),
    ("abstain_precision", "abstention precision", ".3f"),
    ("abstain_recall", "abstention recall", ".3f"),
    ("false_abstain_rate", "false abstention rate", ".3f"),
    ("mode_generated", "mode: generated", ".3f"),
    ("mode_extractive", "mode: extractive", ".3f"),
    ("mode_abstained", "mode: abstained", ".3f"),
    ("conflicts", "conflicts reported", "d"),
    ("answer_words_median", "answer words (median)", ".1f"),
    ("retrieve_ms_p50", "retrieval ms p50", ".1f"),
    ("latency_ms_p50", "latency ms p50", ".0f"),
    ("latency_ms_p95", "latency ms p95", ".0f"),
    ("prompt_tokens_mean", "prompt tokens (mean)", ".1f"),
    ("completion_tokens_mean", "completion tokens (mean)", ".1f"),
    ("tokens_per_second", "completion tokens/s", ".1f"),
]


def _fmt(value, fmt: str) -> str:
    if value is None:
        return "-"
    return format(value, fmt) if fmt != "d" else str(int(value))


def table(summary: dict, old: dict | None = None) -> str:
    rows = []
    for key, label, fmt in FIGURES:
        if key not in summary and (old is None or key not in old):
            continue
        new = summary.get(key)
        if old is None:
            rows.append(f"{label:<28}{_fmt(new, fmt):>10}")
            continue
        before = old.get(key)
        delta = "-" if new is None or before is None else format(new - before, "+" + (fmt if fmt != "d" else ".0f"))
        rows.append(f"{label:<28}{_fmt(new, fmt):>10}{_fmt(before, fmt):>10}{delta:>10}")
    for name, fig in summary.get("groups", {}).items():
        before_fig = (old or {}).get("groups", {}).get(name, {})
        for key, label in (("accuracy", "accuracy"), ("short_em", "short EM"), ("short_f1", "short F1")):
            text = f"{label} [{name}]"
            if old is None:
                rows.append(f"{text:<28}{_fmt(fig.get(key), '.3f'):>10}")
            else:
                new_v, old_v = fig.get(key), before_fig.get(key)
                delta = "-" if new_v is None or old_v is None else format(new_v - old_v, "+.3f")
                rows.append(f"{text:<28}{_fmt(new_v, '.3f'):>10}{_fmt(old_v, '.3f'):>10}{delta:>10}")
    header = f"{'':<28}{'now':>10}{'before':>10}{'delta':>10}" if old is not None else f"{'':<28}{'value':>10}"
    return "\n".join([header, *rows])


def load_report(path: Path) -> dict:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoldError(f"report {path} does not exist; write one with rag eval GOLD --out {path}") from None
    except (OSError, ValueError):
        raise GoldError(f"{path} is not a rag eval report (JSON); write one with rag eval GOLD --out FILE") from None
    if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
        raise GoldError(f"{path} has no 'summary'; it is not a rag eval report")
    return report
