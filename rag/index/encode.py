"""Embedding many texts: in batches, in this process or in N worker processes.

Both paths cut the texts into the same batches and return the vectors in the same order, so
`rag index --workers N` builds the same index as one process. Each worker loads the
embedder itself (spawned, not forked: a fork would copy the parent's thread pools) and uses
cores / N threads, so N workers do not fight over the cores.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import numpy as np

from rag.errors import ModelError
from rag.index.embedders import Embedder, EmbedderSpec, load_embedder

BATCH = 2048  # texts per call: bounded memory whatever the corpus size


def batches(texts: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    it = iter(texts)
    while batch := list(islice(it, size)):
        yield batch


class Encoder:
    """encode_stream(texts) -> one float32 array per batch, in order."""

    def __init__(self, spec: EmbedderSpec, workers: int = 1, embedder: Embedder | None = None):
        self.spec = spec
        self.workers = max(1, workers)
        self._embedder = embedder
        self._pool = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.spec)
        return self._embedder

    @property
    def dim(self) -> int:
        if self.workers == 1 or self._embedder is not None:
            return self.embedder.dim
        # the parent does not load the model: a worker tells its size by embedding a word
        return int(_result(self._ensure_pool().submit(_encode, ["dimension"])).shape[1])

    def encode_stream(
        self, texts: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Iterator[np.ndarray]:
        if self.workers == 1:
            for batch in batches(texts):
                yield self.embedder.encode(batch)
                if progress:
                    progress(len(batch))
            return
        pool = self._ensure_pool()
        pending: deque = deque()
        for batch in batches(texts):
            pending.append((pool.submit(_encode, batch), len(batch)))
            if len(pending) >= 2 * self.workers:  # a bounded number of batches in flight
                yield self._collect(pending, progress)
        while pending:
            yield self._collect(pending, progress)

    @staticmethod
    def _collect(pending: deque, progress) -> np.ndarray:
        future, n = pending.popleft()
        vecs = _result(future)
        if progress:
            progress(n)
        return vecs

    def _ensure_pool(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            threads = max(1, (os.cpu_count() or 1) // self.workers)
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.spec, threads),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _result(future) -> np.ndarray:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise ModelError(
            "an embedding worker process died (out of memory, or started from a script without "
            "`if __name__ == '__main__':`); run again with --workers 1"
        ) from None


_worker_embedder: Embedder | None = None


def _start_worker(spec: EmbedderSpec, threads: int) -> None:
    global _worker_embedder
    _worker_embedder = load_embedder(spec, threads=threads)


def _encode(batch: list[str]) -> np.ndarray:
    assert _worker_embedder is not None, "the worker's initializer loads the embedder"
    return _worker_embedder.encode(batch)
