"""The HTTP server: a route table, one model worker behind the admission queue, and a
graceful stop.

Each connection gets a thread (standard library ThreadingHTTPServer) that reads and checks
the request, then queues it for the one worker thread that owns the model (admission.py)
and waits for the reply, its time limit or its client leaving, whichever comes first. The
listen backlog holds a burst of connections, so a burst is answered, queued or turned away
with a 503, never reset.

Routes are one table (ROUTES): a new endpoint is a function of the handler.
"""

from __future__ import annotations

import json
import queue
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rag.errors import Cancelled, RagError, UsageError
from rag.llm.cancel import cancellable
from rag.serve.admission import FULL, STOPPING, Admission, Job, Reply, worth_starting
from rag.serve.metrics import Metrics
from rag.serve.request import MAX_BODY, parse_ask
from rag.serve.service import Service, log

BACKLOG = 1024  # pending connections the kernel holds (Linux caps it at net.core.somaxconn)
MAX_QUEUE = 64  # requests admitted at once: queued for the model or being answered
TIME_LIMIT = 60.0  # seconds from admission to reply; 504 after
READ_TIMEOUT = 30.0  # seconds a client may take to send its request
DRAIN = 1024 * 1024  # an oversized body is read up to this much before the 400 (else: reset)
POLL = 0.2  # seconds between checks that a waiting request's client is still there
POLL_IDLE = 1.0  # seconds an idle worker waits before it looks for a rebuilt index


def client_gone(sock: socket.socket) -> bool:
    """Whether the peer closed its side (readable with nothing to read). A request is read
    whole before it waits, so anything readable is a new request or the end."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class Handler(BaseHTTPRequestHandler):
    server: RagHTTPServer
    server_version = "rag"
    timeout = READ_TIMEOUT

    def log_message(self, format, *args):  # quiet: /metrics and the stop line tell the story
        pass

    def send_json(self, status: int, obj: dict, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client left while we answered
            self.server.metrics.error("disconnected")

    def error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.server.metrics.error(kind)
        self.send_json(status, {"error": message, "kind": kind}, headers)

    def read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise UsageError("Content-Length is not a number") from None
        if length > MAX_BODY:
            # read (and drop) what was sent: closing with unread data would reset the connection
            left = min(length, DRAIN)
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
            raise UsageError(f"request body over {MAX_BODY} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        route = ROUTES.get((method, path))
        self.server.metrics.request(route.__name__ if route else "other")
        if route is None:
            if method == "POST":
                self.read_body_quietly()
            known = ", ".join(f"{m} {p}" for m, p in ROUTES if p not in ("/", "/index.html", "/ask/stream"))
            self.error(404, "not_found", f"not found; use {known}")
            return
        route(self)

    def read_body_quietly(self) -> None:
        try:
            self.read_body()
        except (UsageError, OSError):
            pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")


def health(h: Handler) -> None:
    h.send_json(200, h.server.service.health())


def root(h: Handler) -> None:
    """GET /: the page for a browser (rag/web), the health object for a script."""
    from rag.web import page

    if page.wants_page(h.path, h.headers.get("Accept", "")):
        page.send_page(h)
    else:
        health(h)


def metrics(h: Handler) -> None:
    h.send_json(200, h.server.snapshot())


def ask(h: Handler) -> None:
    """POST /ask: the `rag ask --json` object, or a JSON error with a status that says what
    to do: 400 fix the request, 503 retry after Retry-After, 504 ask again later."""
    server = h.server
    try:
        req = parse_ask(h.read_body())
    except UsageError as exc:
        h.error(400, "bad_request", str(exc))
        return
    job = Job(req, time.monotonic() + server.admission.time_limit)
    refused = server.admit(job)
    if refused is not None:
        h.send_json(refused.status, refused.body, refused.headers)
        return
    reply = server.wait(job, lambda: client_gone(h.connection))
    if reply is not None:
        h.send_json(reply.status, reply.body, reply.headers)


def ask_stream(h: Handler) -> None:
    """POST /ask/stream: the page's question, queued like POST /ask, answered as JSON lines
    (rag/web/stream.py) as the answer is made. Errors before the stream starts are JSON
    replies with their status; after, an "error" event."""
    from rag.answer.policy import understood
    from rag.web.stream import Events

    server = h.server
    try:
        req = parse_ask(h.read_body())
    except UsageError as exc:
        h.error(400, "bad_request", str(exc))
        return
    job = Job(req, time.monotonic() + server.admission.time_limit, events=queue.Queue())
    refused = server.admit(job)
    if refused is not None:
        h.send_json(refused.status, refused.body, refused.headers)
        return
    events = Events(h.wfile)
    try:
        h.send_response(200)
        h.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
        h.send_header("Cache-Control", "no-store")
        h.send_header("X-Content-Type-Options", "nosniff")
        h.send_header("Connection", "close")  # no length: the stream ends when the connection closes
        h.end_headers()
    except OSError:
        events.gone = True
    h.close_connection = True
    asked = understood(req.question, req.previous)
    if asked != req.question:
        events.send("understood", question=asked)
    if server.admission.admitted > 1:
        events.send("queued")
    reply = server.wait(job, lambda: events.gone or client_gone(h.connection), events.send)
    if reply is None:
        return
    if reply.status == 200:
        events.send("answer", answer=reply.body)
    else:
        events.send("error", error=reply.body.get("error", f"the server answered {reply.status}"))


ROUTES: dict[tuple[str, str], Callable[[Handler], None]] = {
    ("GET", "/"): root,
    ("GET", "/index.html"): root,
    ("GET", "/health"): health,
    ("GET", "/metrics"): metrics,
    ("POST", "/ask"): ask,
    ("POST", "/ask/stream"): ask_stream,
}


class RagHTTPServer(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True  # a stop waits for admitted requests itself (Admission.wait_idle)

    def __init__(
        self,
        service: Service,
        host: str = "127.0.0.1",
        port: int = 8765,
        max_queue: int = MAX_QUEUE,
        time_limit: float = TIME_LIMIT,
    ):
        self.service = service
        self.admission = Admission(max_queue, time_limit)
        self.metrics = Metrics()
        self.stopping = threading.Event()
        self._open = 0  # /ask requests admitted and not yet replied to
        self._active = 0  # connections a handler thread is on (reading, waiting or replying)
        self._open_lock = threading.Condition()
        super().__init__((host, port), Handler)
        self.worker = threading.Thread(target=self._work, name="rag-model-worker", daemon=True)
        self.worker.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- a handler's thread --------------------------------------------------------------

    def admit(self, job: Job) -> Reply | None:
        """Queue job; the 503 to send when it cannot be queued, else None."""
        why, retry = self.admission.admit(job, self.metrics.per_answer())
        if why is None:
            with self._open_lock:
                self._open += 1
            self.metrics.admit()
            return None
        kind = "stopping" if why == STOPPING else "overloaded"
        self.metrics.error(kind)
        if why == STOPPING:
            message = "the server is stopping; try again shortly"
        elif why == FULL:
            message = f"the server is busy ({self.admission.limit} requests queued); retry after {retry} s"
        else:
            limit = self.admission.time_limit
            message = f"the server is busy (answers would take over {limit:g} s); retry after {retry} s"
        return Reply(503, {"error": message, "kind": kind}, {"Retry-After": str(retry)})

    def wait(self, job: Job, gone: Callable[[], bool], on_event: Callable[..., None] | None = None) -> Reply | None:
        """Wait for an admitted job's reply, passing its events on as they come; a 504 when
        its time limit passes; None when its client left (nothing to send)."""
        try:
            while True:
                if job.events is not None and on_event is not None:
                    try:
                        event, fields = job.events.get(timeout=max(0.0, min(POLL, job.deadline - time.monotonic())))
                        on_event(event, **fields)
                        continue
                    except queue.Empty:
                        pass
                    if job.done.is_set() and job.events.empty():
                        break
                elif job.done.wait(max(0.0, min(POLL, job.deadline - time.monotonic()))):
                    break
                if time.monotonic() >= job.deadline:
                    self.admission.give_up(job)
                    self.metrics.error("timeout")
                    limit = self.admission.time_limit
                    return Reply(504, {"error": f"no answer within the time limit of {limit:g} s", "kind": "timeout"})
                if gone():
                    self.admission.give_up(job)
                    self.metrics.error("disconnected")
                    return None
            assert job.reply is not None
            # a job the worker skipped (too late to start) is counted here, where its 504 is
            # sent: counted by the worker too, it counted twice when its client gave up then
            if job.reply.body.get("kind") == "timeout":
                self.metrics.error("timeout")
            return job.reply
        finally:
            with self._open_lock:
                self._open -= 1
                self._open_lock.notify_all()

    # --- the model worker's thread -------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self.admission.take(timeout=POLL_IDLE)
            if job is not None:
                self.admission.finish(job, self._answer(job))
            elif self.admission.closed:
                return
            else:
                self.service.switch_if_ready()  # idle: a rebuilt index need not wait for a question

    def _answer(self, job: Job) -> Reply:
        if not worth_starting(job.deadline - time.monotonic(), self.metrics.per_answer()):
            return Reply(504, {"error": "no answer within the time limit (it passed in the queue)", "kind": "timeout"})
        self.service.switch_if_ready()  # between answers: never half of each index
        version = str(self.service.index_version)
        t0 = time.monotonic()
        events = job.events
        try:
            with cancellable(job.cancel):
                if events is None:
                    body = self.service.answer(job.request)
                else:
                    body = self.service.answer(
                        job.request,
                        on_text=lambda piece: events.put(("token", {"text": piece})),
                        on_stage=lambda stage: events.put(("stage", {"stage": stage})),
                        page=True,
                    )
        except Cancelled:
            self.metrics.error("cancelled")
            return Reply(504, {"error": "the request was given up", "kind": "cancelled"})
        except UsageError as exc:
            self.metrics.error("bad_request")
            return Reply(400, {"error": str(exc), "kind": "bad_request"})
        except RagError as exc:
            self.metrics.error("internal")
            return Reply(500, {"error": str(exc), "kind": "internal"})
        except Exception as exc:  # a bug must cost one request, not the worker
            traceback.print_exc(file=sys.stderr)
            self.metrics.error("internal")
            return Reply(
                500, {"error": f"internal error ({type(exc).__name__}); see the server's log", "kind": "internal"}
            )
        now = time.monotonic()
        self.metrics.answer(now - job.admitted_at, now - t0)
        return Reply(200, body, {"X-Rag-Index-Version": version})

    # --- stopping ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        a = self.admission
        return {
            **self.metrics.snapshot(),
            "queue_depth": a.queued,
            "running": a.running,
            "in_flight": self._open,
            "connections": self._active,
            "index_version": self.service.index_version,
            "limits": {"max_queue": a.limit, "time_limit_s": a.time_limit, "backlog": self.request_queue_size},
            "stopping": self.stopping.is_set(),
        }

    def stop(self, grace: float | None = None) -> bool:
        """Stop accepting, answer every request admitted, then close. Connections the
        kernel accepted but we had not yet are answered 503 (not reset). True when all
        admitted requests were answered within grace seconds (default: the time limit + 5)."""
        self.stopping.set()
        self.shutdown()  # serve_forever returns: no more accept() from its loop
        self.admission.close()
        self._refuse_backlog()
        self.socket.close()
        done = self.admission.wait_idle(grace if grace is not None else self.admission.time_limit + 5)
        with self._open_lock:  # handlers writing their replies, or their 503 "stopping"
            end = time.monotonic() + READ_TIMEOUT
            while self._active and time.monotonic() < end:
                self._open_lock.wait(end - time.monotonic())
        self.worker.join(timeout=5)
        return done

    def process_request(self, request, client_address) -> None:
        """Count each connection from its accept (before its thread starts) to its end: a
        stop waits for every one to be answered."""
        with self._open_lock:
            self._active += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done_with_connection()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done_with_connection()

    def _done_with_connection(self) -> None:
        with self._open_lock:
            self._active -= 1
            self._open_lock.notify_all()

    def _refuse_backlog(self) -> None:
        self.socket.setblocking(False)
        while True:
            try:
                conn, addr = self.socket.accept()
            except OSError:
                return
            conn.setblocking(True)
            self.process_request(conn, addr)  # a handler thread: admission is closed, so 503


def serve(server: RagHTTPServer, on_stop: Callable[[str], None] = log) -> int:
    """Run until SIGTERM or Ctrl-C, then stop gracefully; a second signal stops at once.
    Returns the exit code: 0 after a graceful stop."""
    stop = threading.Event()
    signals = 0

    def handle(signum, frame):
        nonlocal signals
        signals += 1
        if signals > 1:
            on_stop("second signal: stopping now, unanswered requests are dropped")
            raise SystemExit(1)
        stop.set()

    watcher_stop = threading.Event()
    threads = [threading.Thread(target=server.serve_forever, name="rag-accept", daemon=True)]
    watch = getattr(server.service, "watch", None)
    if watch is not None:
        threads.append(threading.Thread(target=watch, args=(watcher_stop,), name="rag-index-watcher", daemon=True))
    old = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for t in threads:
            t.start()
        while not stop.wait(1.0):
            pass
        a = server.admission
        on_stop(f"stopping: {a.running} request(s) being answered, {a.queued} queued; no new connections")
        finished = server.stop()
        watcher_stop.set()
        on_stop(("stopped" if finished else "stopped with requests unanswered") + f" after {server.metrics.line()}")
        return 0 if finished else 1
    finally:
        for s, h in old.items():
            signal.signal(s, h)
