"""The page `rag serve` shows at / and the streamed answers it reads (POST /ask/stream):
request parsing and the follow-up turn as tables of cases, then the stream from a real
server with the real models. The page in a real browser: tests/test_browser.py."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner
from servers import running_server

from rag.cli import main
from rag.errors import UsageError
from rag.types import Turn
from rag.web import page, stream

# ---------------------------------------------------------------- requests


@pytest.mark.parametrize(
    "body, needle",
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "JSON object like"),
        (b'{"question": "   "}', "JSON object like"),
        (b'{"question": "x", "k": 0}', "k must"),
        (b'{"question": "x", "k": true}', "k must"),
        (b'{"question": "x", "retriever": "magic"}', "retriever must"),
        (b'{"question": "x", "previous": "Wer?"}', "previous must"),
        (b'{"question": "x", "previous": {"question": "q", "answer": 3}}', "previous must"),
        (b'{"question": "x", "previous": {"question": "q", "text": "", "short": 5}}', "not a reply of this server"),
    ],
)
def test_bad_requests_name_what_to_send(body, needle):
    with pytest.raises(UsageError, match=needle):
        stream.parse_request(body)


def reply(question: str, answer: str, short: str | None, abstained: bool = False) -> dict:
    """The members of a reply the page sends back as "previous"."""
    return {
        "question": question,
        "answer": answer,
        "abstained": abstained,
        "mode": "abstained" if abstained else "extractive",
        "text": "",
        "short": None if short is None else {"text": short, "start": None, "end": None},
        "quote": None if abstained else {"text": answer, "citation": 1},
        "conflict_values": [],
        "lang": "de",
    }


@pytest.mark.parametrize(
    "previous, turn",
    [
        (None, None),
        # a whole reply: the turn `rag chat` would keep (policy.turn_of: the short answer)
        (
            reply("Wer wird CEO?", "Jason Droege – „Ihn ersetzt …“ [1]", "Jason Droege"),
            Turn("Wer wird CEO?", "Jason Droege"),
        ),
        (reply("Wer wird CEO?", "„Ihn ersetzt Droege“ [1]", None), Turn("Wer wird CEO?", "„Ihn ersetzt Droege“ [1]")),
        (reply("Umsatz 2019?", "Die Quellen sagen dazu nichts.", None, abstained=True), Turn("Umsatz 2019?", None)),
        # the short form POST /ask takes
        ({"question": "Wer?", "answer": "Droege", "abstained": False}, Turn("Wer?", "Droege")),
        ({"question": "Wer?", "answer": "nichts", "abstained": True}, Turn("Wer?", None)),
    ],
)
def test_previous_becomes_the_turn_chat_would_keep(previous, turn):
    body = json.dumps({"question": "Und wo wurde er geboren?", "previous": previous}).encode()
    assert stream.parse_request(body).previous == turn


def test_a_page_closed_mid_answer_stops_the_writing_not_the_answer():
    class Gone:
        writes = 0

        def write(self, data):
            self.writes += 1
            raise BrokenPipeError

        def flush(self):
            pass

    out = Gone()
    events = stream.Events(out)
    events.send("stage", stage="read")
    events.send("stage", stage="retrieve")
    assert events.gone and out.writes == 1


@pytest.mark.parametrize(
    "path, accept, expected",
    [
        ("/", "text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("/?q=x", "text/html", True),
        ("/", "application/json", False),  # a script asking / for its health, as before
        ("/", "", False),
        ("/health", "text/html", False),
        ("/ask", "text/html", False),
    ],
)
def test_who_gets_the_page(path, accept, expected):
    assert page.wants_page(path, accept) is expected


def test_the_page_needs_nothing_from_elsewhere():
    html = page.page_bytes().decode("utf-8")
    assert "/ask/stream" in html and "<script src" not in html and "<link" not in html
    assert "http://" not in html and "https://" not in html


# ---------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server(seeds_index):
    from rag import app
    from rag.config import load_settings

    answerer = app.open_answerer(load_settings(index=seeds_index))
    with running_server(answerer) as url:
        yield url


def events_of(url: str, body: dict) -> list[dict]:
    req = urllib.request.Request(
        url + stream.PATH, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=300) as resp:
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in resp.read().decode("utf-8").splitlines() if line.strip()]


@pytest.mark.e2e
@pytest.mark.llm
def test_the_stream_tells_each_stage_then_the_answer_with_its_passages(server):
    events = events_of(server, {"question": "Wer wird Interims-CEO von Scale AI?"})
    stages = [e["stage"] for e in events if e["event"] == "stage"]
    from rag.answer.pipeline import STAGES

    assert stages[:3] == ["read", "retrieve", "evidence"] and all(s in STAGES for s in stages)
    assert [e["event"] for e in events][-1] == "answer"
    answer = events[-1]["answer"]
    assert "Jason Droege" in answer["answer"] and not answer["abstained"]
    cited = answer["citations"][0]
    assert cited["source"].endswith("004_a2122adb65b12522.txt") and cited["ref"].endswith(
        f":{cited['start']}-{cited['end']}"
    )
    passage = next(p for p in answer["passages"] if p["citation"] == cited["id"])
    span = passage["text"][cited["start"] - passage["start"] : cited["end"] - passage["start"]]
    assert span == cited["quote"] and "Jason Droege" in span


@pytest.mark.e2e
@pytest.mark.llm
def test_a_follow_up_is_understood_as_rag_chat_understands_it(server, seeds_index):
    first = events_of(server, {"question": "Wer wird Interims-CEO von Scale AI?"})[-1]["answer"]
    keep = ("question", "answer", "abstained", "mode", "text", "short", "quote", "conflict_values", "lang")
    events = events_of(server, {"question": "Und wo wurde er geboren?", "previous": {k: first[k] for k in keep}})
    understood = next(e["question"] for e in events if e["event"] == "understood")
    follow = events[-1]["answer"]
    assert follow["rewritten_from"] == "Und wo wurde er geboren?" and follow["question"] == understood
    assert follow["abstained"]  # Droege's birthplace is in no source

    chat = CliRunner().invoke(
        main,
        ["chat", "--index", str(seeds_index), "--plain"],
        input="Wer wird Interims-CEO von Scale AI?\nUnd wo wurde er geboren?\n/quit\n",
    )
    assert chat.exit_code == 0, chat.output
    assert f"(understood as: {understood})" in chat.output


@pytest.mark.e2e
@pytest.mark.llm
def test_get_slash_is_the_page_for_a_browser_and_json_for_a_script(server):
    req = urllib.request.Request(server + "/", headers={"Accept": "text/html"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        assert b"/ask/stream" in resp.read()
    with urllib.request.urlopen(server + "/", timeout=30) as resp:
        assert json.loads(resp.read())["status"] == "ok"


@pytest.mark.e2e
def test_a_bad_stream_request_is_a_400_before_any_event(server):
    req = urllib.request.Request(server + stream.PATH, data=b'{"q": 1}', headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert info.value.code == 400 and "question" in json.loads(info.value.read())["error"]


@pytest.mark.e2e
@pytest.mark.llm
def test_the_models_words_stream_before_the_checked_answer(seeds_index):
    """With a model that writes the answer, its tokens arrive as they are made."""
    from rag import app
    from rag.config import load_settings

    answerer = app.open_answerer(load_settings(index=seeds_index, generate="always"))
    with running_server(answerer) as url:
        events = events_of(url, {"question": "Wo wurde Alexandr Wang geboren?"})
    kinds = [e["event"] for e in events]
    assert "token" in kinds and kinds[-1] == "answer"
    assert (
        kinds.index("token") > kinds.index("stage")
        and max(i for i, k in enumerate(kinds) if k == "token") < len(kinds) - 1
    )
    assert "".join(e["text"] for e in events if e["event"] == "token").strip()
    assert events[-1]["answer"]["citations"]


@pytest.mark.e2e
@pytest.mark.llm
def test_two_pages_at_once_one_waits_its_turn(server):
    results: dict[str, list[dict]] = {}

    def ask(q: str) -> None:
        results[q] = events_of(server, {"question": q})

    threads = [
        threading.Thread(target=ask, args=(q,)) for q in ("Wo wurde Alexandr Wang geboren?", "Wer leitet Scale AI?")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert all(evs[-1]["event"] == "answer" for evs in results.values()) and len(results) == 2
    assert "Los Alamos" in results["Wo wurde Alexandr Wang geboren?"][-1]["answer"]["answer"]
