"""What the server serves: answers from the warm Answerer, and a rebuilt index switched in
between two answers.

`rag index` writes a new index into a temporary folder and renames it into place
(index/store.py). A watcher thread notices the new manifest, loads the whole new index
beside the old one (the embedder is reused when the index needs the same one), and leaves
it ready; the model worker switches the Answerer to it before its next answer
(`switch_if_ready`). An answer runs wholly on the index it started with: the worker is the
only thread that answers or switches, so no answer sees half of each.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rag.errors import RagError
from rag.index import store
from rag.index.retrieve import Retriever
from rag.serve.request import AskRequest

POLL_SECONDS = 1.0


class Service(Protocol):
    """What the HTTP layer needs; tests give it a fake with a gate instead of a model."""

    index_version: int

    def answer(
        self,
        req: AskRequest,
        on_text: Callable[[str], None] | None = None,
        on_stage: Callable[[str], None] | None = None,
        page: bool = False,
    ) -> dict:
        """The `rag ask --json` object (page: as the page shows it, rag.web.stream.reply_of)."""
        ...

    def health(self) -> dict: ...

    def switch_if_ready(self) -> bool: ...


def index_key(index_dir: Path) -> tuple[int, int, int, int] | None:
    """What identifies the index on disk now: its manifest file (a rebuild writes a new
    one, under a new inode). None when there is none."""
    try:
        st = os.stat(store.current(index_dir) / store.MANIFEST)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def log(message: str) -> None:
    print(f"rag serve: {message}", file=sys.stderr, flush=True)


class AnswerService:
    def __init__(self, answerer, poll_seconds: float = POLL_SECONDS):
        self.answerer = answerer
        self.index_dir = Path(answerer.settings.index_dir)
        self.poll_seconds = poll_seconds
        self.index_version = 1
        self._key = index_key(self.index_dir)
        self._ready: tuple[Retriever, tuple | None] | None = None
        self._failed_key: tuple | None = None
        self._lock = threading.Lock()

    # --- the model worker's thread ---------------------------------------------------------

    def answer(
        self,
        req: AskRequest,
        on_text: Callable[[str], None] | None = None,
        on_stage: Callable[[str], None] | None = None,
        page: bool = False,
    ) -> dict:
        from rag.cli.render import answer_json
        from rag.web.stream import reply_of

        answer = self.answerer.ask(
            req.question, k=req.k, retriever=req.retriever, previous=req.previous, on_text=on_text, on_stage=on_stage
        )
        return reply_of(answer) if page else answer_json(answer)

    def switch_if_ready(self) -> bool:
        """Answer from the rebuilt index from now on, if one is loaded (between answers)."""
        with self._lock:  # the watcher compares with _key: both change together
            ready, self._ready = self._ready, None
            if ready is None:
                return False
            retriever, self._key = ready
        self.answerer.retriever = retriever
        self.index_version += 1
        log(
            f"switched to the rebuilt index ({retriever.index.manifest['chunks']} chunks, version {self.index_version})"
        )
        return True

    # --- any thread ----------------------------------------------------------------------

    def health(self) -> dict:
        answerer = self.answerer
        m = answerer.retriever.index.manifest
        return {
            "status": "ok",
            "chunks": m["chunks"],
            "embedder": m["embedder"]["name"],
            "model": str(answerer.handle.path),
            "index": {"path": str(self.index_dir), "version": self.index_version, "created": m.get("created")},
        }

    # --- the watcher's thread ------------------------------------------------------------

    def poll_index(self) -> bool:
        """Load the index if it was rebuilt since the one in use (or the one waiting);
        True when a new one is ready to switch to."""
        key = index_key(self.index_dir)
        with self._lock:
            known = self._ready[1] if self._ready else self._key
        if key is None or key == known or key == self._failed_key:
            return False
        from rag import app

        try:
            retriever = app.open_retriever(self.answerer.settings, loaded=self.answerer.retriever.embedder)
        except (RagError, OSError) as exc:
            # caught mid-swap, or a broken rebuild: keep answering from the index in use
            self._failed_key = key
            log(f"cannot load the rebuilt index, still answering from the previous one: {exc}")
            return False
        if index_key(self.index_dir) != key:
            return False  # replaced again while it loaded: the next poll takes the newest
        with self._lock:
            self._ready = (retriever, key)
        return True

    def watch(self, stop: threading.Event) -> None:
        while not stop.wait(self.poll_seconds):
            try:
                self.poll_index()
            except Exception as exc:  # the watcher must outlive any one bad rebuild
                log(f"index watcher: {type(exc).__name__}: {exc}")
