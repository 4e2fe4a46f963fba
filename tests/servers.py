"""`rag serve`'s HTTP server over a real Answerer, on a free loopback port, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def running_server(answerer) -> Iterator[str]:
    from rag.serve.http import RagHTTPServer
    from rag.serve.service import AnswerService

    server = RagHTTPServer(AnswerService(answerer), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.stop(grace=120)
        server.server_close()
        thread.join(timeout=10)
