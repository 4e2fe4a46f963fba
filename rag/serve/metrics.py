"""What the server has done: requests, errors by kind, latency percentiles. GET /metrics
shows a snapshot; the stop line sums it up.

Latencies are kept for the last WINDOW answers only, so a long-running server's memory does
not grow with its age (the soak test in scripts/bench_serve.py checks that).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence

WINDOW = 1000

# error kinds, as /metrics names them
ERROR_KINDS = (
    "bad_request",  # 400: malformed JSON, wrong fields, body too large
    "not_found",  # 404
    "overloaded",  # 503: the queue was full, or the wait would pass the time limit
    "stopping",  # 503: the server is shutting down
    "timeout",  # 504: the time limit passed before the answer
    "disconnected",  # the client left before its answer (nothing to send it)
    "cancelled",  # the model was stopped for a request given up
    "internal",  # 500
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's
    default); None for no values. Pure."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary_ms(seconds: Sequence[float]) -> dict:
    """count and p50/p95/p99 in milliseconds."""
    out: dict = {"count": len(seconds)}
    for q in (50, 95, 99):
        p = percentile(seconds, q)
        out[f"p{q}"] = None if p is None else round(p * 1000, 1)
    return out


class Metrics:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # by route name
        self.errors: Counter[str] = Counter()
        self.admitted = 0
        self.answered = 0
        self._latency: deque[float] = deque(maxlen=WINDOW)  # admitted -> replied, what a client waits
        self._service: deque[float] = deque(maxlen=WINDOW)  # the model's time on one answer

    def request(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def admit(self) -> None:
        with self._lock:
            self.admitted += 1

    def answer(self, latency: float, service: float) -> None:
        with self._lock:
            self.answered += 1
            self._latency.append(latency)
            self._service.append(service)

    def per_answer(self) -> float | None:
        """Mean seconds the model took per answer (the window), for admission's estimate of
        a new request's wait."""
        with self._lock:
            return sum(self._service) / len(self._service) if self._service else None

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "uptime_s": round(self.clock() - self.started, 1),
                "requests": dict(self.requests),
                "admitted": self.admitted,
                "answered": self.answered,
                "errors": {kind: self.errors.get(kind, 0) for kind in ERROR_KINDS},
                "latency_ms": summary_ms(list(self._latency)),
                "service_ms": summary_ms(list(self._service)),
            }

    def line(self) -> str:
        """One line for the log: what a stop reports."""
        s = self.snapshot()
        errors = ", ".join(f"{n} {kind}" for kind, n in s["errors"].items() if n) or "no errors"
        lat = s["latency_ms"]
        return (
            f"{sum(s['requests'].values())} requests, {s['answered']} answered, {errors}; "
            f"latency p50 {lat['p50']} ms, p95 {lat['p95']} ms"
        )
