"""rag serve's parts without a model: admission decisions and percentiles (tables), the
request parser, and the HTTP server around a gated fake answerer, so overload, time limits,
clients that leave and a graceful stop happen when the test says, not when a clock does.
(The real model path: tests/test_serve.py.)"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from rag.errors import UsageError
from rag.llm import cancel
from rag.serve.admission import (
    FULL,
    SLOW,
    STOPPING,
    Admission,
    Job,
    Reply,
    refuse_reason,
    retry_after,
    worth_starting,
)
from rag.serve.metrics import Metrics, percentile
from rag.serve.request import MAX_BODY, parse_ask
from rag.types import Turn

WAIT = 30  # seconds before a test that waits for the server gives up (a hang, not a timing)


@pytest.mark.parametrize(
    "admitted, limit, per_answer, time_limit, stopping, reason",
    [
        (0, 1, None, 60, False, None),
        (0, 1, None, 60, True, STOPPING),
        (1, 1, None, 60, False, FULL),
        (63, 64, None, 60, False, None),  # nothing measured yet: the limit alone
        (63, 64, 0.5, 60, False, None),  # 64 answers of 0.5 s fit in 60 s
        (63, 64, 1.0, 60, False, SLOW),  # 64 s would pass the time limit
        (64, 64, 0.01, 60, False, FULL),
        (2, 64, 20.0, 60, False, None),  # the third of three 20 s answers: just in time
        (3, 64, 20.0, 60, False, SLOW),
    ],
)
def test_refuse_reason(admitted, limit, per_answer, time_limit, stopping, reason):
    assert refuse_reason(admitted, limit, per_answer, time_limit, stopping) == reason


@pytest.mark.parametrize(
    "admitted, per_answer, seconds",
    [(0, None, 1), (64, None, 1), (0, 0.4, 1), (10, 0.4, 4), (64, 0.45, 29), (64, 5.0, 120), (3, 0.1, 1)],
)
def test_retry_after(admitted, per_answer, seconds):
    assert retry_after(admitted, per_answer) == seconds


@pytest.mark.parametrize(
    "left, per_answer, start",
    [(10, None, True), (0.1, None, True), (0, None, False), (-1, 0.5, False), (0.4, 0.5, False), (0.5, 0.5, True)],
)
def test_worth_starting(left, per_answer, start):
    assert worth_starting(left, per_answer) is start


@pytest.mark.parametrize(
    "values, q, expected",
    [
        ([], 50, None),
        ([3.0], 50, 3.0),
        ([3.0], 99, 3.0),
        ([1.0, 2.0], 50, 1.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # order does not matter
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 100, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 95, 4.8),
        (list(range(1, 101)), 99, 99.01),
    ],
)
def test_percentile_interpolates_like_numpy(values, q, expected):
    got = percentile(values, q)
    assert got == pytest.approx(expected) if expected is not None else got is None
    if values:
        import numpy as np

        assert got == pytest.approx(float(np.percentile(values, q)))


def test_metrics_keep_a_bounded_window():
    from rag.serve.metrics import WINDOW

    m = Metrics()
    for i in range(WINDOW + 500):
        m.answer(i / 1000, 0.001)
    snap = m.snapshot()
    assert snap["answered"] == WINDOW + 500 and snap["latency_ms"]["count"] == WINDOW
    assert snap["latency_ms"]["p50"] == pytest.approx((500 + (WINDOW - 1) / 2), abs=1)  # only the newest


@pytest.mark.parametrize(
    "body, parsed",
    [
        (b'{"question": "Wer?"}', ("Wer?", None, "hybrid", None)),
        (b'{"question": "Wer?", "k": 3, "retriever": "lexical"}', ("Wer?", 3, "lexical", None)),
        (
            b'{"question": "Und er?", "previous": {"question": "Wer?", "answer": "Droege", "abstained": false}}',
            ("Und er?", None, "hybrid", Turn("Wer?", "Droege")),
        ),
        (
            b'{"question": "Und er?", "previous": {"question": "Wer?", "answer": "x", "abstained": true}}',
            ("Und er?", None, "hybrid", Turn("Wer?", None)),
        ),
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"q": "x"}', "JSON object"),
        (b'{"question": "x", "k": 0}', "k must"),
        (b'{"question": "x", "k": true}', "k must"),
        (b'{"question": "x", "retriever": "magic"}', "retriever must"),
        (b'{"question": "x", "previous": "Wer?"}', "previous"),
    ],
)
def test_parse_ask(body, parsed):
    if isinstance(parsed, str):
        with pytest.raises(UsageError, match=parsed):
            parse_ask(body)
    else:
        req = parse_ask(body)
        assert (req.question, req.k, req.retriever, req.previous) == parsed


# --- the admission queue, driven by hand -------------------------------------------------------


def test_admission_is_fifo_and_bounded():
    a = Admission(limit=3, time_limit=60)
    jobs = [Job(i, deadline=0) for i in range(4)]
    assert [a.admit(j)[0] for j in jobs] == [None, None, None, FULL]
    assert a.take(timeout=0).request == 0
    assert a.admit(jobs[3])[0] == FULL  # the running one still counts
    a.finish(jobs[0], Reply(200, {}))
    assert jobs[0].done.is_set() and jobs[0].state == "done"
    assert a.admit(jobs[3])[0] is None
    assert [a.take(timeout=0).request for _ in range(3)] == [1, 2, 3]


def test_admission_give_up_drops_queued_and_cancels_running():
    a = Admission(limit=5, time_limit=60)
    running, queued, later = Job("r", 0), Job("q", 0), Job("l", 0)
    for j in (running, queued, later):
        a.admit(j)
    assert a.take(timeout=0) is running
    assert a.give_up(queued) is True and queued.state == "dropped" and queued.cancel.is_set()
    assert a.give_up(running) is False and running.cancel.is_set()
    a.finish(running, Reply(504, {}))
    assert running.state == "dropped"  # its waiter left: the reply goes nowhere
    assert a.take(timeout=0) is later  # the dropped job is never taken


def test_admission_close_lets_the_worker_finish_the_queue():
    a = Admission(limit=5, time_limit=60)
    a.admit(Job(1, 0))
    a.close()
    assert a.admit(Job(2, 0))[0] == STOPPING
    assert not a.closed  # one still queued
    job = a.take()
    assert job is not None and job.request == 1
    a.finish(job, Reply(200, {}))
    assert a.closed and a.take() is None and a.wait_idle(0)


# --- the HTTP server around a gated fake ----------------------------------------------------------


class GatedService:
    """Answers each question with its upper-case form, once the test opens the gate. It
    honours cancellation like the real models do (rag.llm.cancel.check while it works)."""

    def __init__(self, open_gate: bool = False):
        self.index_version = 1
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.started: queue.Queue[str] = queue.Queue()
        self.answered: list[str] = []

    def answer(self, req, on_text=None, on_stage=None, page=False) -> dict:
        self.started.put(req.question)
        if on_stage:
            on_stage("read")
        while not self.gate.wait(0.01):
            cancel.check()
        if on_text:
            on_text(req.question.upper())
        self.answered.append(req.question)
        return {"question": req.question, "answer": req.question.upper(), "page": page}

    def health(self) -> dict:
        return {"status": "ok"}

    def switch_if_ready(self) -> bool:
        return False


@pytest.fixture
def make_server():
    from rag.serve.http import RagHTTPServer

    made = []

    def make(service, **kwargs):
        server = RagHTTPServer(service, "127.0.0.1", 0, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append((server, service))
        return server

    yield make
    for server, service in made:
        service.gate.set()
        if not server.stopping.is_set():
            server.stop(grace=WAIT)
        server.server_close()


def post(url: str, body: dict | bytes, timeout: float = WAIT) -> tuple[int, dict, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + "/ask", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def get(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=WAIT) as resp:
        return json.loads(resp.read())


def in_background(fn, *args) -> queue.Queue:
    out: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: out.put(fn(*args)), daemon=True).start()
    return out


def wait_for(predicate, what: str):
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def test_overload_gets_503_with_retry_after_and_json(make_server):
    service = GatedService()
    server = make_server(service, max_queue=2)
    first = in_background(post, server.url, {"question": "eins"})
    assert service.started.get(timeout=WAIT) == "eins"  # the model is on it
    second = in_background(post, server.url, {"question": "zwei"})
    wait_for(lambda: get(server.url, "/metrics")["queue_depth"] == 1, "the second request to queue")
    status, body, headers = post(server.url, {"question": "drei"})
    assert status == 503 and body["kind"] == "overloaded" and "busy" in body["error"]
    assert int(headers["Retry-After"]) >= 1
    service.gate.set()
    assert first.get(timeout=WAIT)[:2] == (200, {"question": "eins", "answer": "EINS", "page": False})
    assert second.get(timeout=WAIT)[:2] == (200, {"question": "zwei", "answer": "ZWEI", "page": False})
    assert service.answered == ["eins", "zwei"]
    m = get(server.url, "/metrics")
    assert m["errors"]["overloaded"] == 1 and m["answered"] == 2 and m["requests"]["ask"] == 3


def test_time_limit_gives_504_and_stops_the_work(make_server):
    service = GatedService()
    server = make_server(service, time_limit=0.5)
    running = in_background(post, server.url, {"question": "langsam"})
    assert service.started.get(timeout=WAIT) == "langsam"
    queued = in_background(post, server.url, {"question": "dahinter"})
    for reply in (running.get(timeout=WAIT), queued.get(timeout=WAIT)):
        status, body, _ = reply
        assert status == 504 and body["kind"] == "timeout" and "time limit" in body["error"]
    m = wait_for(lambda: (m := get(server.url, "/metrics"))["running"] == 0 and m, "the worker to stop")
    assert service.answered == []  # the model stopped: nothing was answered late
    assert m["errors"]["timeout"] == 2 and m["errors"]["cancelled"] >= 1 and m["queue_depth"] == 0


def test_a_client_that_leaves_is_dropped_from_the_queue(make_server):
    service = GatedService()
    server = make_server(service)
    first = in_background(post, server.url, {"question": "bleibt"})
    assert service.started.get(timeout=WAIT) == "bleibt"
    body = json.dumps({"question": "geht"}).encode()
    with socket.create_connection(server.server_address[:2], timeout=WAIT) as s:
        s.sendall(b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        wait_for(lambda: get(server.url, "/metrics")["queue_depth"] == 1, "the request to queue")
    m = wait_for(
        lambda: (m := get(server.url, "/metrics"))["errors"]["disconnected"] == 1 and m, "the server to notice"
    )
    assert m["queue_depth"] == 0
    service.gate.set()
    assert first.get(timeout=WAIT)[0] == 200
    server.stop(grace=WAIT)
    assert service.answered == ["bleibt"]  # "geht" was never answered


def test_a_burst_is_answered_without_resets(make_server):
    """More simultaneous connections than the old listen backlog of 5 by far, and more
    requests than the queue holds: each gets an answer or a 503, none a reset."""
    server = make_server(GatedService(open_gate=True), max_queue=50)
    n = 150
    barrier = threading.Barrier(n)
    results: queue.Queue = queue.Queue()

    def one(i: int) -> None:
        barrier.wait()
        try:
            status, body, headers = post(server.url, {"question": f"q{i}"})
            results.put((status, body.get("answer"), headers.get("Retry-After")))
        except OSError as exc:  # a reset or refused connection
            results.put((type(exc).__name__, None, None))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=WAIT)
    got = [results.get_nowait() for _ in range(n)]
    assert {status for status, _, _ in got} <= {200, 503}, got
    assert all(answer and answer.startswith("Q") for status, answer, _ in got if status == 200)
    assert all(retry for status, _, retry in got if status == 503)
    m = get(server.url, "/metrics")
    assert m["answered"] == sum(status == 200 for status, _, _ in got) > 0
    assert m["errors"]["overloaded"] == sum(status == 503 for status, _, _ in got)


def test_bad_requests_and_metrics_content(make_server):
    server = make_server(GatedService(open_gate=True))
    assert post(server.url, {"question": "eins"})[0] == 200
    status, body, _ = post(server.url, b"not json")
    assert status == 400 and body["kind"] == "bad_request" and "JSON" in body["error"]
    status, body, _ = post(server.url, b'{"question": "x"}' + b" " * (MAX_BODY + 10))
    assert status == 400 and "body over" in body["error"]  # read, answered: not reset
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "/nowhere", timeout=WAIT)
    assert err.value.code == 404 and "GET /metrics" in json.loads(err.value.read())["error"]
    assert get(server.url, "/health") == {"status": "ok"} == get(server.url, "/")
    m = get(server.url, "/metrics")
    assert m["requests"] == {"ask": 3, "other": 1, "health": 1, "root": 1, "metrics": 1}
    assert m["answered"] == 1 and m["errors"]["bad_request"] == 2 and m["errors"]["not_found"] == 1
    assert m["latency_ms"]["count"] == 1 and m["latency_ms"]["p50"] is not None
    assert m["queue_depth"] == 0 and m["running"] == 0 and m["in_flight"] == 0
    assert m["limits"] == {"max_queue": 64, "time_limit_s": 60.0, "backlog": 1024}


def test_stop_answers_what_was_admitted_and_refuses_the_rest(make_server):
    service = GatedService()
    server = make_server(service)
    running = in_background(post, server.url, {"question": "eins"})
    assert service.started.get(timeout=WAIT) == "eins"
    queued = in_background(post, server.url, {"question": "zwei"})
    wait_for(lambda: get(server.url, "/metrics")["queue_depth"] == 1, "the request to queue")
    stopped = in_background(server.stop, WAIT)
    wait_for(server.stopping.is_set, "the stop to begin")
    wait_for(lambda: server.socket.fileno() == -1, "the listening socket to close")
    with pytest.raises(OSError):  # refused: nothing listens any more
        socket.create_connection(server.server_address[:2], timeout=WAIT)
    service.gate.set()
    assert running.get(timeout=WAIT)[:2] == (200, {"question": "eins", "answer": "EINS", "page": False})
    assert queued.get(timeout=WAIT)[:2] == (200, {"question": "zwei", "answer": "ZWEI", "page": False})
    assert stopped.get(timeout=WAIT) is True


def stream(url: str, body: dict) -> tuple[int, list[dict] | dict]:
    req = urllib.request.Request(url + "/ask/stream", data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as resp:
            return resp.status, [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_pages_stream_is_queued_like_ask(make_server):
    """POST /ask/stream waits in the same queue: "queued" while another answer is made,
    then the stages and words as the worker makes them, then the answer; a 503 when full."""
    service = GatedService()
    server = make_server(service, max_queue=2)
    first = in_background(post, server.url, {"question": "eins"})
    assert service.started.get(timeout=WAIT) == "eins"
    second = in_background(stream, server.url, {"question": "zwei"})
    wait_for(lambda: get(server.url, "/metrics")["queue_depth"] == 1, "the stream to queue")
    status, refused = stream(server.url, {"question": "drei"})
    assert status == 503 and refused["kind"] == "overloaded"
    service.gate.set()
    assert first.get(timeout=WAIT)[0] == 200
    status, events = second.get(timeout=WAIT)
    assert status == 200
    assert events == [
        {"event": "queued"},
        {"event": "stage", "stage": "read"},
        {"event": "token", "text": "ZWEI"},
        {"event": "answer", "answer": {"question": "zwei", "answer": "ZWEI", "page": True}},
    ]
    status, body = stream(server.url, {"q": 1})
    assert status == 400 and "question" in body["error"]


def test_a_streams_time_limit_is_an_error_event(make_server):
    service = GatedService()
    server = make_server(service, time_limit=0.5)
    status, events = stream(server.url, {"question": "langsam"})
    assert status == 200 and events[0] == {"event": "stage", "stage": "read"}
    assert events[-1]["event"] == "error" and "time limit" in events[-1]["error"]
    assert service.answered == []
