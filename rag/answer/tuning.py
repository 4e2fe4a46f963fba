"""The answer stage's fitted numbers: evidence weights and the abstention rule.

They are outputs, not choices: `python scripts/fit.py` measures them on dev gold sets and
writes fitted.json beside this file, with the figures it reached, so anyone can refit them
on other data and see the effect. Numbers set by reasoning rather than data stay named
constants in the module that uses them, each with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

FITTED = Path(__file__).with_name("fitted.json")

# The features each fitted rule reads, in order (scripts/fit.py fits exactly these).
EVIDENCE_FEATURES = ("dense", "overlap", "context", "typed", "span", "rank")
ABSTAIN_FEATURES = ("overlap", "context", "dense", "span_found", "unknown", "pmi")
ABSTAIN_FEATURES_UNSCORED = ("overlap", "context", "dense", "span_found", "unknown")


@dataclass(frozen=True)
class Tuning:
    evidence_weights: dict[str, float]
    # abstain when sum(weight * feature) < threshold; "pmi" needs a model that can score text
    abstain_weights: dict[str, float]
    abstain_below: float
    # ... and for a model that cannot score (a server behind --llm-url)
    abstain_weights_unscored: dict[str, float]
    abstain_below_unscored: float
    fit: dict = field(default_factory=dict, compare=False)  # how and on what it was fitted

    def abstention(self, scored: bool) -> tuple[dict[str, float], float]:
        if scored:
            return self.abstain_weights, self.abstain_below
        return self.abstain_weights_unscored, self.abstain_below_unscored

    def without_abstention(self) -> Tuning:
        """The same rule with abstention switched off: what fit.py answers with to learn
        which answers would have been right."""
        return Tuning(
            self.evidence_weights,
            self.abstain_weights,
            float("-inf"),
            self.abstain_weights_unscored,
            float("-inf"),
            self.fit,
        )

    def to_json(self) -> dict:
        return {
            "evidence_weights": self.evidence_weights,
            "abstain_weights": self.abstain_weights,
            "abstain_below": self.abstain_below,
            "abstain_weights_unscored": self.abstain_weights_unscored,
            "abstain_below_unscored": self.abstain_below_unscored,
            "fit": self.fit,
        }


def load_tuning(path: Path = FITTED) -> Tuning:
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    return Tuning(
        d["evidence_weights"],
        d["abstain_weights"],
        float(d["abstain_below"]),
        d["abstain_weights_unscored"],
        float(d["abstain_below_unscored"]),
        d.get("fit", {}),
    )


@cache
def default_tuning() -> Tuning:
    """The shipped fit, read once per process."""
    return load_tuning()
