"""Who waits for the model, who is turned away, who gave up.

One model answers one question at a time (its KV cache is not shared between threads), so
requests queue for it. The queue is bounded: a request that would find it full, or would
wait longer than its time limit given how long answers take, is turned away at once (503
with Retry-After) instead of timing out later. A request whose client left or whose time
limit passed is taken out of the queue (never answered), or, when the model is already on
it, told to stop (rag/llm/cancel.py).

The decisions are pure functions (table-tested); Admission applies them under one lock.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# why a request was not admitted
FULL, SLOW, STOPPING = "full", "slow", "stopping"


def refuse_reason(admitted: int, limit: int, per_answer: float | None, time_limit: float, stopping: bool) -> str | None:
    """Why a new request cannot be admitted, or None. admitted: requests queued or being
    answered now; per_answer: the mean seconds the model takes per answer (None: nothing
    measured yet; the mean, not the median, because a wait is a sum of answers). A request
    waits for those before it and then takes about one answer's time; one that would pass
    its time limit is better turned away now than answered 504 after it."""
    if stopping:
        return STOPPING
    if admitted >= limit:
        return FULL
    if per_answer is not None and (admitted + 1) * per_answer > time_limit:
        return SLOW
    return None


def retry_after(admitted: int, per_answer: float | None, cap: int = 120) -> int:
    """Seconds a turned-away client should wait: until the requests ahead would be done."""
    if per_answer is None:
        return 1
    return max(1, min(cap, math.ceil(admitted * per_answer)))


def worth_starting(seconds_left: float, per_answer: float | None) -> bool:
    """Whether the model should start on a request with seconds_left before its time limit.
    One that would most likely be cut off is skipped (504): the model time it would waste
    pushes the requests behind it past their limits too, and under a long queue every
    answer would then be cut off."""
    return seconds_left > 0 and (per_answer is None or seconds_left >= per_answer)


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class Job:
    """One admitted request. The worker fills in reply and sets done; the waiting handler
    sets cancel when it gives up (the model stops at its next token)."""

    request: Any
    deadline: float  # time.monotonic() after which nobody waits for the reply
    # a page's streamed answer: the worker puts (event, fields) here as the answer is made
    # (stages, the model's words), and the waiting handler writes them out
    events: queue.Queue | None = None
    state: str = "new"  # new, queued, running, done, dropped
    reply: Reply | None = None
    admitted_at: float = 0.0
    started_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)


class Admission:
    """The bounded FIFO queue in front of the model, and what it holds."""

    def __init__(self, limit: int, time_limit: float, clock: Callable[[], float] = time.monotonic):
        if limit < 1:
            raise ValueError("the admission limit must be at least 1")
        self.limit = limit
        self.time_limit = time_limit
        self.clock = clock
        self._queue: deque[Job] = deque()
        self._running: Job | None = None
        self._closed = False
        self._cond = threading.Condition()

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def running(self) -> int:
        return 0 if self._running is None else 1

    @property
    def closed(self) -> bool:
        """Closed and nothing left to answer: the worker may end."""
        with self._cond:
            return self._closed and not self._queue

    @property
    def admitted(self) -> int:
        with self._cond:
            return len(self._queue) + self.running

    def admit(self, job: Job, per_answer: float | None = None) -> tuple[str | None, int]:
        """Queue job, or say why not: (None, 0) or (reason, seconds to retry after)."""
        with self._cond:
            admitted = len(self._queue) + self.running
            why = refuse_reason(admitted, self.limit, per_answer, self.time_limit, self._closed)
            if why is not None:
                return why, retry_after(admitted, per_answer)
            job.state, job.admitted_at = "queued", self.clock()
            self._queue.append(job)
            self._cond.notify_all()
            return None, 0

    def take(self, timeout: float | None = None) -> Job | None:
        """The next job to answer (the worker), marked running; None once closed and empty
        (or when timeout passes with nothing queued)."""
        with self._cond:
            end = None if timeout is None else self.clock() + timeout
            while not self._queue:
                if self._closed:
                    return None
                left = None if end is None else end - self.clock()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            job = self._queue.popleft()
            job.state, job.started_at = "running", self.clock()
            self._running = job
            return job

    def finish(self, job: Job, reply: Reply) -> None:
        with self._cond:
            if self._running is job:
                self._running = None
            job.reply = reply
            if job.state != "dropped":
                job.state = "done"
            self._cond.notify_all()
        job.done.set()

    def give_up(self, job: Job) -> bool:
        """The waiter leaves (client gone, time limit passed). A queued job is removed and
        never answered (True); a running one is told to stop (False)."""
        with self._cond:
            job.cancel.set()
            if job.state == "queued":
                self._queue.remove(job)
                job.state = "dropped"
                self._cond.notify_all()
                return True
            if job.state == "running":
                job.state = "dropped"
            return False

    def close(self) -> None:
        """Admit nothing more; the worker still answers what is queued, then take() ends."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or running (a graceful stop); False on timeout."""
        end = self.clock() + timeout
        with self._cond:
            while self._queue or self._running is not None:
                left = end - self.clock()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True
