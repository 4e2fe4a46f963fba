"""An eval report (rag/eval/run.py) turned into what the HTML report shows: one row per
question, the points of the calibration plot, the rates other abstention thresholds would
give, and what changed against an earlier report. Pure functions over the report's dicts,
table-tested in tests/test_report.py.

Older reports lack some members (gold answers, gold rank, passages, the threshold): the
rows then say "-" rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.eval.run import FIGURES

# figures where a smaller value is the better one (for colouring deltas)
LOWER_IS_BETTER = frozenset(
    {
        "false_abstain_rate",
        "retrieve_ms_p50",
        "latency_ms_p50",
        "latency_ms_p95",
        "prompt_tokens_mean",
        "completion_tokens_mean",
    }
)
# figures that are neither better nor worse when they move
NEUTRAL = frozenset(
    {
        "questions",
        "answerable",
        "mode_generated",
        "mode_extractive",
        "mode_abstained",
        "conflicts",
        "answer_words_median",
    }
)
# abstentions the threshold caused; any other reason (nothing retrieved, the year rule, a
# follow-up's words missing) would withhold the answer at every threshold
THRESHOLD_REASON = "reader confidence"


def answerable(item: dict) -> bool:
    """Whether the gold set answers the question (an older report: unanswerable items have
    no short-answer score)."""
    gold = item.get("gold")
    if gold is not None:
        return bool(gold.get("answers"))
    return item.get("scores", {}).get("short_em") is not None


def outcome(item: dict) -> str:
    """right | wrong | withheld (answerable, abstained) | abstained (unanswerable, rightly)
    | answered (unanswerable, answered anyway)."""
    abstained = bool(item.get("abstained"))
    if answerable(item):
        if abstained:
            return "withheld"
        return "right" if item.get("scores", {}).get("correct") else "wrong"
    return "abstained" if abstained else "answered"


def is_right(item: dict) -> bool:
    return outcome(item) in ("right", "abstained")


def rule_abstained(item: dict) -> bool:
    """Abstained for a reason other than the reader's confidence: no threshold answers it."""
    return bool(item.get("abstained")) and not (item.get("reason") or "").startswith(THRESHOLD_REASON)


@dataclass(frozen=True)
class Point:
    confidence: float
    group: str  # "right" | "wrong" | "unanswerable"
    abstained: bool


def calibration_points(items: list[dict]) -> list[Point]:
    """The abstention score of each question, by what it should have got: an answerable
    question answered right, one answered wrong or withheld, an unanswerable one."""
    out = []
    for it in items:
        if it.get("confidence") is None:
            continue
        o = outcome(it)
        group = "right" if o == "right" else "wrong" if o in ("wrong", "withheld") else "unanswerable"
        out.append(Point(float(it["confidence"]), group, bool(it.get("abstained"))))
    return out


@dataclass(frozen=True)
class Rates:
    threshold: float
    unanswerable_withheld: float | None  # abstention recall
    answerable_withheld: float | None  # false abstention rate
    answerable_right: float | None  # answered and right, of all answerable
    lower_bound: bool  # below the run's threshold, answers it withheld are counted as wrong


def rates_at(items: list[dict], t: float, run_threshold: float | None) -> Rates:
    """What the abstention rates would have been with threshold t. Whether an answer
    withheld in the run would have been right is not known: below the run's threshold the
    share answered right is a lower bound."""
    withheld_u = withheld_a = right = n_u = n_a = 0
    for it in items:
        conf = it.get("confidence")
        if conf is None:
            continue
        withheld = rule_abstained(it) or conf < t
        if answerable(it):
            n_a += 1
            withheld_a += withheld
            right += (not withheld) and outcome(it) == "right"
        else:
            n_u += 1
            withheld_u += withheld
    return Rates(
        t,
        withheld_u / n_u if n_u else None,
        withheld_a / n_a if n_a else None,
        right / n_a if n_a else None,
        run_threshold is not None and t < run_threshold,
    )


def sweep(items: list[dict], run_threshold: float | None, steps: int = 50) -> list[Rates]:
    return [rates_at(items, i / steps, run_threshold) for i in range(steps + 1)]


def rate_table(items: list[dict], run_threshold: float | None) -> list[Rates]:
    """The rates at round thresholds and at the run's own, in order."""
    ts = {round(x / 10, 1) for x in range(1, 10)}
    if run_threshold is not None:
        ts.add(run_threshold)
    return [rates_at(items, t, run_threshold) for t in sorted(ts)]


def citation_label(c: dict) -> str:
    """Where a citation points, as `rag ask` lists it: file, page or section, offsets."""
    from rag.cli.render import citation_ref
    from rag.types import Citation

    return citation_ref(
        Citation(
            c["id"],
            c["source"],
            c["start"],
            c["end"],
            c.get("quote") or "",
            c.get("page"),
            c.get("section"),
            c.get("title"),
        )
    )


def passage_key(p: dict) -> str:
    return f"{p['source']}:{p['start']}-{p['end']}"


def rows(items: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """One row per question for the table, and the passages its citations open (by key,
    each passage once)."""
    passages: dict[str, str] = {}
    out = []
    for it in items:
        by_citation: dict[int, tuple[str | None, int | None]] = {}
        for p in it.get("passages") or []:
            key = passage_key(p)
            passages[key] = p["text"]
            by_citation[p["citation"]] = (key, p["start"])
        gold = it.get("gold") or {}
        scores = it.get("scores") or {}
        timings = it.get("timings") or {}
        cites = []
        for c in it.get("citations") or []:
            ref, offset = by_citation.get(c["id"], (None, None))
            cites.append(
                {
                    "id": c["id"],
                    "label": citation_label(c),
                    "quote": c.get("quote", ""),
                    "passage": ref,
                    # the cited span inside the passage's text
                    "from": None if offset is None else c["start"] - offset,
                    "to": None if offset is None else c["end"] - offset,
                }
            )
        out.append(
            {
                "id": it["id"],
                "question": it.get("rewritten_from") or it.get("question", ""),
                "gold": gold.get("answers"),
                "gold_sources": gold.get("sources"),
                "answer": it.get("answer", ""),
                "short": (it.get("short") or {}).get("text"),
                "mode": it.get("mode", ""),
                "conflict": bool(it.get("conflict")),
                "outcome": outcome(it),
                "right": is_right(it),
                "answerable": answerable(it),
                "gold_rank": scores.get("gold_rank"),
                "confidence": it.get("confidence"),
                "reason": it.get("reason") or "",
                "latency_ms": timings.get("total_ms"),
                "lang": gold.get("lang") or it.get("lang"),
                "type": gold.get("type"),
                "citations": cites,
            }
        )
    return out, passages


@dataclass(frozen=True)
class Delta:
    key: str
    label: str
    now: float | None
    before: float | None
    fmt: str

    @property
    def change(self) -> float | None:
        return None if self.now is None or self.before is None else self.now - self.before

    @property
    def verdict(self) -> str:
        """better | worse | same | neutral (a count or a mix that is neither)."""
        d = self.change
        if self.key in NEUTRAL or d is None:
            return "neutral"
        if abs(d) < 1e-9:
            return "same"
        return "better" if (d < 0) == (self.key in LOWER_IS_BETTER) else "worse"


def deltas(now: dict, before: dict) -> list[Delta]:
    """Each summary figure of either report, now beside before (groups too)."""
    out = [
        Delta(key, label, now.get(key), before.get(key), fmt)
        for key, label, fmt in FIGURES
        if key in now or key in before
    ]
    groups = sorted(set(now.get("groups", {})) | set(before.get("groups", {})))
    for name in groups:
        g_now, g_before = now.get("groups", {}).get(name, {}), before.get("groups", {}).get(name, {})
        for key, label in (("accuracy", "accuracy"), ("short_f1", "short F1")):
            out.append(Delta(key, f"{label} [{name}]", g_now.get(key), g_before.get(key), ".3f"))
    return out


@dataclass(frozen=True)
class Change:
    id: str
    kind: str  # fixed | broken | changed (answer differs, verdict the same)
    now: dict  # the item's row now
    before: dict  # and before


def changes(rows_now: list[dict], rows_before: list[dict]) -> list[Change]:
    """Questions both reports asked whose verdict flipped (fixed: wrong before, right now;
    broken: the other way) or whose answer changed; in the order of the new report."""
    before = {r["id"]: r for r in rows_before}
    out = []
    for r in rows_now:
        b = before.get(r["id"])
        if b is None:
            continue
        if r["right"] != b["right"]:
            out.append(Change(r["id"], "fixed" if r["right"] else "broken", r, b))
        elif r["answer"] != b["answer"]:
            out.append(Change(r["id"], "changed", r, b))
    return out
