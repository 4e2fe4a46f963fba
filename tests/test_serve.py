"""Warm paths: `rag serve` + `rag ask --server`, generation on an OpenAI-compatible server
(`--llm-url`, against a real llama-cpp-python server on loopback), and KV-cache reuse."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS, ask_json

from rag.cli import main

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: Path, **limits):
    """A RagHTTPServer over a real Answerer (default model), accepting in a thread."""
    from rag import app
    from rag.config import load_settings
    from rag.serve.http import RagHTTPServer
    from rag.serve.service import AnswerService

    answerer = app.open_answerer(load_settings(index=index))
    service = AnswerService(answerer, poll_seconds=0.1)
    server = RagHTTPServer(service, "127.0.0.1", 0, **limits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, service, answerer


@pytest.fixture(scope="module")
def rag_server(seeds_index):
    server, _, answerer = start_server(seeds_index)
    yield server.url, answerer
    server.stop(grace=120)
    server.server_close()


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/ask", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            if headers is not None:
                headers.update(resp.headers)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if headers is not None:
            headers.update(exc.headers)
        return exc.code, json.loads(exc.read())


def ask_body(question: str) -> bytes:
    return json.dumps({"question": question}).encode()


def same_answer(reply: dict) -> tuple:
    """What two answers to one question must share: the text, abstention and citations."""
    return (
        reply["answer"],
        reply["abstained"],
        [(c["source"], c["start"], c["end"]) for c in reply["citations"]],
    )


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def wait_until(predicate, what: str, seconds: float = 180):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


@pytest.mark.llm
def test_serve_answers_post_ask_with_the_ask_json_object(rag_server, seeds_index):
    url, _ = rag_server
    status, served = post(url, json.dumps({"question": "Wer wird Interims-CEO von Scale AI?"}).encode())
    assert status == 200
    local = ask_json(seeds_index, "Wer wird Interims-CEO von Scale AI?")
    assert set(served) == set(local)
    assert "Droege" in served["answer"]
    assert [c["source"] for c in served["citations"]] == [c["source"] for c in local["citations"]]


@pytest.mark.llm
def test_serve_applies_the_follow_up_rule_as_chat_does(rag_server):
    """The previous reply sent along completes a follow-up; "er" is Jason Droege, whose
    birthplace the sources do not give (Wang's they do)."""
    url, _ = rag_server
    _, first = post(url, json.dumps({"question": "Wer wird Interims-CEO von Scale AI?"}).encode())
    _, follow = post(url, json.dumps({"question": "Und wo wurde er geboren?", "previous": first}).encode())
    assert follow["rewritten_from"] == "Und wo wurde er geboren?" and "Jason Droege" in follow["question"]
    assert follow["abstained"] and follow["answer"] == "Die Quellen sagen dazu nichts."


def test_serve_health_and_bad_requests(rag_server):
    url, _ = rag_server
    with urllib.request.urlopen(url + "/health", timeout=10) as resp:
        health = json.loads(resp.read())
    assert health["status"] == "ok" and health["chunks"] > 0
    for body, needle in (
        (b"not json", "JSON"),
        (b'{"q": "x"}', "question"),
        (b'{"question": "x", "k": 0}', "k must"),
        (b'{"question": "x", "previous": "Wer?"}', "previous"),
    ):
        status, reply = post(url, body)
        assert status == 400 and needle in reply["error"], (body, reply)


@pytest.mark.llm
def test_ask_server_cli(rag_server):
    url, answerer = rag_server
    before = answerer.handle.load_seconds
    result = CliRunner().invoke(main, ["ask", "Wo wurde Alexandr Wang geboren?", "--server", url])
    assert result.exit_code == 0, result.output
    assert "Los Alamos" in result.stdout and "Sources:" in result.stdout
    assert answerer.handle.load_seconds == before  # the server's warm model, not a new load


def test_ask_server_unreachable_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(main, ["ask", "Wer?", "--server", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code != 0
    assert "cannot reach rag serve" in result.output and "Traceback" not in result.output


@pytest.mark.llm
def test_warm_model_reuses_the_fixed_prompt_prefix(seeds_index):
    """The second question evaluates far fewer prompt tokens than it sends: the instructions
    and few-shot block come from llama.cpp's KV cache."""
    from rag import app
    from rag.cli.render import answer_text
    from rag.config import load_settings

    answerer = app.open_answerer(load_settings(index=seeds_index, generate="always"))
    # (not "Wie viel investiert Meta ...": the sources disagree there, which is reported
    # without asking the model)
    first = answerer.ask("Wo wurde Alexandr Wang geboren?")
    second = answerer.ask("Wer wird Interims-CEO von Scale AI?").timings
    assert second["prompt_tokens"] > 0
    assert second["prompt_tokens_evaluated"] < 0.6 * second["prompt_tokens"], second
    # a restored KV state gives the same answer as a fresh evaluation
    again = answerer.ask("Wo wurde Alexandr Wang geboren?")
    assert answer_text(again) == answer_text(first) and again.citations == first.citations


@pytest.fixture(scope="module")
def llama_server(smollm_path, tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with SmolLM2, on loopback."""
    pytest.importorskip("llama_cpp.server", reason="pip install 'llama-cpp-python[server]'")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--verbose",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.llm
def test_llm_url_sends_generation_to_the_server(seeds_index, llama_server):
    out = ask_json(seeds_index, "Wer wird Interims-CEO von Scale AI?", "--llm-url", llama_server)
    assert "Droege" in out["answer"]
    assert out["citations"] and all(c["source"].endswith(".txt") for c in out["citations"])
    # the server did the model's work: it reported the tokens, nothing was loaded here
    assert out["timings"]["completion_tokens"] > 0 and out["timings"]["load_ms"] == 0


def test_llm_url_abstains_on_unanswerable(seeds_index, llama_server):
    out = ask_json(seeds_index, "Wie hoch war der Umsatz von Meta im Jahr 2019?", "--llm-url", llama_server)
    assert out["abstained"] is True and out["citations"] == []


def test_llm_url_unreachable_is_one_clear_line(seeds_index):
    result = CliRunner().invoke(
        main,
        ["ask", "Wer leitet Scale AI?", "--index", str(seeds_index), "--llm-url", f"http://127.0.0.1:{free_port()}"],
    )
    assert result.exit_code != 0
    assert "cannot reach the LLM server" in result.output and "Traceback" not in result.output


# --- under load: the real model path -------------------------------------------------------------


@pytest.mark.llm
def test_serve_metrics_after_real_answers(rag_server):
    url, _ = rag_server
    status, _ = post(url, ask_body("Wo wurde Alexandr Wang geboren?"))
    assert status == 200
    m = get_json(url + "/metrics")
    assert m["answered"] >= 1 and m["requests"]["ask"] >= m["answered"]
    assert m["latency_ms"]["p50"] > 0 and m["latency_ms"]["p95"] >= m["latency_ms"]["p50"]
    assert m["service_ms"]["p50"] > 0
    assert {"queue_depth", "running", "in_flight", "errors", "limits", "index_version"} <= set(m)
    assert set(m["errors"]) >= {"bad_request", "overloaded", "timeout", "disconnected", "internal"}


@pytest.mark.llm
def test_overload_on_the_real_model_path_is_503_never_a_reset(seeds_index):
    """Admission limit 1: while the model answers one question, the others of a burst are
    turned away with 503 + Retry-After; the ones answered equal the serial answer."""
    server, _, _ = start_server(seeds_index, max_queue=1)
    question = "Wer wird Interims-CEO von Scale AI?"
    try:
        status, serial = post(server.url, ask_body(question))
        assert status == 200
        got: list[tuple[int, dict, dict]] = []
        lock = threading.Lock()

        def one(barrier: threading.Barrier) -> None:
            barrier.wait()
            headers: dict = {}
            try:
                reply = (*post(server.url, ask_body(question), headers), headers)
            except OSError as exc:
                reply = (type(exc).__name__, {}, {})
            with lock:
                got.append(reply)

        for _ in range(5):  # a burst of 8 against answers of a few hundred ms: one round suffices
            barrier = threading.Barrier(8)
            threads = [threading.Thread(target=one, args=(barrier,)) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
            if any(status == 503 for status, _, _ in got):
                break
        assert {status for status, _, _ in got} <= {200, 503}, got
        assert any(status == 503 for status, _, _ in got)
        for status, reply, headers in got:
            if status == 503:
                assert reply["kind"] == "overloaded" and int(headers["Retry-After"]) >= 1
            else:
                assert same_answer(reply) == same_answer(serial)
    finally:
        server.stop(grace=120)
        server.server_close()


NEW_ARTICLE = (
    "Nordlicht Robotics baut Roboter für Lagerhallen.\n\n"
    "Das Unternehmen Nordlicht Robotics wurde 2011 von Karin Albers in Flensburg gegründet. "
    "Heute beschäftigt es rund 240 Mitarbeiter.\n"
)


@pytest.mark.llm
def test_index_rebuilt_under_load_is_switched_to_between_answers(tmp_path):
    """`rag index` (another process) rebuilds the index while clients keep asking: every
    answer is the old index's answer or the new one's, as its X-Rag-Index-Version says, and
    none is an error."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    result = CliRunner().invoke(main, ["index", str(corpus), "--index", str(index)])
    assert result.exit_code == 0, result.output
    questions = ["Wer gründete Nordlicht Robotics?", "Wer wird Interims-CEO von Scale AI?"]
    old = {q: same_answer(ask_json(index, q)) for q in questions}

    server, service, _ = start_server(index)
    stop_watch, stop_clients = threading.Event(), threading.Event()
    threading.Thread(target=service.watch, args=(stop_watch,), daemon=True).start()
    replies: list[tuple[str, str, int, tuple | dict]] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        i = offset
        while not stop_clients.is_set():
            q = questions[i % len(questions)]
            headers: dict = {}
            try:
                status, reply = post(server.url, ask_body(q), headers)
                got: tuple | dict = same_answer(reply) if status == 200 else reply
            except OSError as exc:
                status, got = -1, {"error": repr(exc)}
            with lock:
                replies.append((headers.get("X-Rag-Index-Version", "?"), q, status, got))
            i += 1

    clients = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    try:
        for t in clients:
            t.start()
        wait_until(lambda: len(replies) >= 3, "answers from the old index")
        (corpus / "nordlicht.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        rebuild = subprocess.run(
            [sys.executable, "-m", "rag", "index", str(corpus), "--index", str(index)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rebuild.returncode == 0, rebuild.stderr
        wait_until(
            lambda: {q for v, q, _, _ in list(replies) if v == "2"} == set(questions), "answers from the new index"
        )
    finally:
        stop_clients.set()
        for t in clients:
            t.join(timeout=300)
        stop_watch.set()
        server.stop(grace=120)
        server.server_close()
    new = {q: same_answer(ask_json(index, q)) for q in questions}
    assert old[questions[0]] != new[questions[0]]  # the new article answers it
    assert "Karin Albers" in new[questions[0]][0]
    expected = {"1": old, "2": new}
    for version, q, status, got in replies:
        assert status == 200, (version, q, got)
        assert got == expected[version][q], (version, q, got)
    versions = [v for v, _, _, _ in replies]
    assert versions == sorted(versions)  # never back to the old index once switched
    assert service.index_version == 2


@pytest.mark.llm
def test_sigterm_finishes_admitted_requests_and_exits_0(seeds_index):
    """A real `rag serve` process, SIGTERM while requests are being answered and queued:
    each of them is answered, new connections are refused, the exit code is 0."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--index", str(seeds_index), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"rag serve exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                return get_json(url + "/health")["status"] == "ok"
            except OSError:
                return False

        wait_until(up, "rag serve to listen")
        questions = ["Wer wird Interims-CEO von Scale AI?", "Wo wurde Alexandr Wang geboren?"] * 4
        serial = {q: same_answer(post(url, ask_body(q))[1]) for q in set(questions)}
        results: list[tuple[str, int, dict]] = []
        lock = threading.Lock()

        def one(q: str) -> None:
            try:
                status, reply = post(url, ask_body(q))
            except OSError as exc:
                status, reply = -1, {"error": repr(exc)}
            with lock:
                results.append((q, status, reply))

        clients = [threading.Thread(target=one, args=(q,)) for q in questions]
        admitted_before = get_json(url + "/metrics")["admitted"]
        for t in clients:
            t.start()

        def all_admitted_and_queued() -> bool:
            m = get_json(url + "/metrics")
            return m["admitted"] == admitted_before + len(questions) and m["queue_depth"] >= 3

        wait_until(all_admitted_and_queued, "every request admitted, some queued")
        proc.send_signal(signal.SIGTERM)
        for t in clients:
            t.join(timeout=300)
        assert proc.wait(timeout=300) == 0
        log = proc.stderr.read() if proc.stderr else ""
        with pytest.raises(OSError):
            get_json(url + "/health")  # nothing listens any more
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stopping = re.search(r"stopping: (\d+) request\(s\) being answered, (\d+) queued", log)
    assert stopping, log
    assert int(stopping[1]) + int(stopping[2]) >= 1  # the signal came while requests were in flight
    assert "stopped after" in log and "Traceback" not in log
    assert len(results) == len(questions)
    for q, status, reply in results:
        assert status == 200, reply
        assert same_answer(reply) == serial[q]
