"""Read files of the document formats in worker processes, each file under a time limit.

A PDF or DOCX library can loop or crash on a malicious or damaged file, and a thread cannot
be stopped inside C code: so each file is read in a worker process, which is killed when the
file takes longer than the limit (or replaced when it dies), and the file is reported and
skipped. Workers are started with "spawn" (a clean interpreter: nothing of the parent's
threads or loaded models) and reused from file to file.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from rag.ingest.readers import read
from rag.ingest.readers.base import Extracted, Unreadable

Reader = Callable[[Path, str], Extracted]


def _serve(conn: Connection, reader: Reader) -> None:
    """A worker: read each (path, format) it is sent, send back the text or why not."""
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        path, fmt = job
        try:
            conn.send(reader(Path(path), fmt))
        except Unreadable as exc:
            conn.send(exc)
        except MemoryError:
            conn.send(Unreadable("too large", "does not fit in memory; split it, or raise the machine's memory"))
        except Exception as exc:  # a reader library's own error on a file it cannot handle
            conn.send(Unreadable("damaged", f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    job: int | None = None
    started: float = 0.0


@dataclass
class Extractor:
    """Reads many files with `workers` processes, each file within `timeout` seconds."""

    timeout: float = 120.0
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    reader: Reader = read  # tests pass a reader that hangs or crashes

    def _start(self) -> _Worker:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_serve, args=(child, self.reader), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    @staticmethod
    def _stop(worker: _Worker) -> None:
        worker.conn.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)

    def read_all(
        self, jobs: list[tuple[Path, str]], progress: Callable[[int, int], None] | None = None
    ) -> list[Extracted | Unreadable]:
        """The text of each (path, format), in order, or why it could not be read."""
        results: list[Extracted | Unreadable | None] = [None] * len(jobs)
        todo = deque(range(len(jobs)))
        idle: list[_Worker] = []
        busy: list[_Worker] = []
        done = 0

        def finish(worker: _Worker, result: Extracted | Unreadable) -> None:
            nonlocal done
            assert worker.job is not None, "only a busy worker finishes a job"
            results[worker.job] = result
            worker.job = None
            busy.remove(worker)
            done += 1
            if progress:
                progress(done, len(jobs))

        try:
            while todo or busy:
                while todo and len(busy) < max(1, min(self.workers, len(jobs))):
                    worker = idle.pop() if idle else self._start()
                    worker.job, worker.started = todo.popleft(), time.monotonic()
                    worker.conn.send((str(jobs[worker.job][0]), jobs[worker.job][1]))
                    busy.append(worker)
                deadline = min(w.started for w in busy) + self.timeout
                ready = wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy], max(0.0, deadline - time.monotonic())
                )
                now = time.monotonic()
                for worker in list(busy):
                    if worker.conn in ready or worker.process.sentinel in ready:
                        try:
                            result = worker.conn.recv()
                        except (EOFError, OSError):  # it died: a crash inside the reader's library
                            fmt = jobs[worker.job or 0][1]
                            finish(worker, Unreadable("damaged", f"crashed the {fmt} reader (a damaged file?)"))
                            self._stop(worker)
                            continue
                        finish(worker, result)
                        idle.append(worker)
                    elif now - worker.started >= self.timeout:
                        finish(
                            worker,
                            Unreadable(
                                "timed out",
                                f"took longer than {self.timeout:g} s to read (RAG_READ_TIMEOUT); skipped",
                            ),
                        )
                        self._stop(worker)
        finally:
            for worker in idle + busy:
                self._stop(worker)
        assert all(r is not None for r in results), "every job ends with a text or a reason"
        return [r for r in results if r is not None]
