"""Answering a question opens no network connection, without any help from the caller."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e

GUARD = textwrap.dedent("""
    import socket, sys
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network disabled by test guard")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from rag.cli import main
    try:
        main(sys.argv[1:])
    finally:
        with open({log!r}, "w") as f:
            f.write("\\n".join(attempts))
""")


@pytest.mark.llm
def test_ask_opens_no_connection(seeds_index, tmp_path):
    log = tmp_path / "attempts.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            GUARD.format(log=str(log)),
            "ask",
            "Wer wird Interims-CEO von Scale AI?",
            "--index",
            str(seeds_index),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Droege" in json.loads(proc.stdout)["answer"]
    assert log.read_text() == "", f"connection attempts: {log.read_text()}"


def test_index_opens_no_connection(tmp_path):
    from conftest import SEEDS

    log = tmp_path / "attempts.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    proc = subprocess.run(
        [sys.executable, "-c", GUARD.format(log=str(log)), "index", str(SEEDS), "--index", str(tmp_path / "idx")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "", f"connection attempts: {log.read_text()}"
