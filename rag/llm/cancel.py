"""Stopping the model's work for a request nobody waits for any more.

A server's worker runs an answer inside `cancellable(event)`; the models call `check()`
before each call and after each token they stream, so a client that left (or whose time
limit passed) frees the model within a token instead of after the whole answer. Outside a
cancellable block check() costs a context-variable read and never raises.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from rag.errors import Cancelled

_event: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("rag_cancel", default=None)


@contextlib.contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    token = _event.set(event)
    try:
        yield
    finally:
        _event.reset(token)


def check() -> None:
    event = _event.get()
    if event is not None and event.is_set():
        raise Cancelled("the request was given up (its client left or its time limit passed)")
