"""rag.toml < RAG_* < options, seen through `rag config --json` and `rag ask`; bad files fail in one line."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from rag.cli import main


@pytest.fixture(autouse=True)
def clean(tmp_path, monkeypatch):
    """A temporary working folder and no RAG_* variables from the machine running the tests."""
    for var in [v for v in os.environ if v.startswith("RAG_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)


def run(*args, env=None):
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output
    return result


def effective(*options, config=None, env=None) -> dict:
    """`rag [--config FILE] config --json OPTIONS`, parsed."""
    result = run(*(["--config", config] if config else []), "config", "--json", *options, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "toml, env, options, name, value, source",
    [
        ("", {}, [], "k", 5, "default"),
        ("k = 3", {}, [], "k", 3, "rag.toml"),
        ("k = 3", {"RAG_K": "7"}, [], "k", 7, "env RAG_K"),
        ("k = 3", {"RAG_K": "7"}, ["-k", "4"], "k", 4, "option -k"),
        ("[rag]\nk = 3", {}, [], "k", 3, "rag.toml"),
        ("n_gpu_layers = -1", {}, [], "n_gpu_layers", -1, "rag.toml"),
        ("n_gpu_layers = -1", {"RAG_N_GPU_LAYERS": "2"}, [], "n_gpu_layers", 2, "env RAG_N_GPU_LAYERS"),
        ("n_gpu_layers = -1", {}, ["--n-gpu-layers", "8"], "n_gpu_layers", 8, "option --n-gpu-layers"),
        ('generate = "never"', {"RAG_GENERATE": "always"}, [], "generate", "always", "env RAG_GENERATE"),
        ("translate = false", {}, [], "translate", False, "rag.toml"),
        ("exact_search_up_to = 500", {}, [], "exact_search_up_to", 500, "rag.toml"),
        ('llm_url = "http://a:1"', {}, ["--llm-url", "http://b:2"], "llm_url", "http://b:2", "option --llm-url"),
    ],
)
def test_precedence(tmp_path, toml, env, options, name, value, source):
    (tmp_path / "rag.toml").write_text(toml)
    out = effective(*options, env=env)
    assert out["config_file"] == str(tmp_path / "rag.toml")
    assert out["settings"][name]["value"] == value
    assert out["settings"][name]["source"].startswith(source)


@pytest.mark.parametrize("how", ["option", "env", "home"])
def test_where_the_file_is_found(tmp_path, how):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "rag.toml").write_text("k = 9")
    (tmp_path / "rag.toml").write_text("k = 2")  # the working folder's file loses to --config and RAG_CONFIG
    if how == "option":
        out = effective(config=str(elsewhere / "rag.toml"))
    elif how == "env":
        out = effective(env={"RAG_CONFIG": str(elsewhere / "rag.toml")})
    else:
        (tmp_path / "rag.toml").unlink()
        out = effective(env={"RAG_HOME": str(elsewhere)})
    assert out["config_file"] == str(elsewhere / "rag.toml")
    assert out["settings"]["k"] == {"value": 9, "source": f"rag.toml ({elsewhere / 'rag.toml'})"}


def test_no_file_found():
    out = effective()
    assert out["config_file"] is None
    assert {s["source"] for s in out["settings"].values()} == {"default"}


def test_text_output_names_the_file_and_sources(tmp_path):
    (tmp_path / "rag.toml").write_text("k = 3")
    result = run("config", env={"RAG_N_CTX": "4096"})
    assert result.exit_code == 0, result.output
    assert f"config file: {tmp_path / 'rag.toml'}" in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert lines["k"].split()[1] == "3" and "rag.toml" in lines["k"]
    assert lines["n_ctx"].split()[1:] == ["4096", "env", "RAG_N_CTX"]


@pytest.mark.parametrize(
    "name, written, resolved",
    [
        ("index", '"idx/mine"', "conf/idx/mine"),
        ("index", '"../shared"', "conf/../shared"),
        ("model", '"models/x.gguf"', "conf/models/x.gguf"),
        ("index", '"/abs/idx"', "/abs/idx"),
    ],
)
def test_relative_paths_are_taken_from_the_files_folder(tmp_path, name, written, resolved):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "rag.toml").write_text(f"{name} = {written}")
    out = effective(config="conf/rag.toml")
    assert out["settings"][name]["value"] == str(tmp_path / resolved)


def test_env_and_option_paths_stay_relative_to_the_working_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "rag.toml").write_text('index = "a"')
    assert effective(config="conf/rag.toml", env={"RAG_INDEX": "b"})["settings"]["index"]["value"] == "b"


@pytest.mark.parametrize(
    "toml, extra, env, words",
    [
        ("kk = 3", [], {}, ["unknown key 'kk'", "rag.toml", "valid keys", "n_gpu_layers"]),
        ("[rag]\nmodle = 'x'", [], {}, ["unknown key 'modle'", "rag.toml"]),
        ('k = "five"', [], {}, ["k = ", "five", "rag.toml", "integer"]),
        ("k = true", [], {}, ["k = ", "rag.toml", "integer"]),
        ("translate = 1", [], {}, ["translate", "true or false"]),
        ("index = 3", [], {}, ["index", "path"]),
        ("k = 3\nindex = \n", [], {}, ["rag.toml", "not valid TOML", "line 2"]),
        ("k = 0", [], {}, ["k must be at least 1", "rag.toml"]),
        ('generate = "sometimes"', [], {}, ["sometimes", "rag.toml", "auto, always or never"]),
        ("", ["--config", "missing.toml"], {}, ["missing.toml", "--config", "not found"]),
        ("", [], {"RAG_CONFIG": "missing.toml"}, ["missing.toml", "RAG_CONFIG", "not found"]),
        ("", [], {"RAG_K": "five"}, ["RAG_K", "integer"]),
    ],
)
@pytest.mark.parametrize("command", [["config"], ["ask", "Wer?"], ["index", "."]])
def test_bad_configuration_is_one_line(tmp_path, toml, extra, env, words, command):
    (tmp_path / "rag.toml").write_text(toml)
    result = run(*extra, *command, env=env)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error:"), result.output
    assert all(w in errors[0] for w in words), errors[0]


def test_unreadable_toml_is_one_line(tmp_path):
    (tmp_path / "rag.toml").write_bytes(b"\xff\xfek = 3")
    result = run("config")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error:") and "rag.toml" in result.stderr


@pytest.mark.parametrize(
    "toml, options, env, retrieved",
    [
        ("k = 3", [], {}, 3),
        ("k = 3", ["-k", "4"], {}, 4),
        ("k = 3", [], {"RAG_K": "2"}, 2),
    ],
)
@pytest.mark.llm
def test_ask_honours_k(tmp_path, seeds_index, toml, options, env, retrieved):
    (tmp_path / "rag.toml").write_text(f'{toml}\nindex = "{seeds_index}"')
    result = run("ask", "Wie viel Geld investiert Meta in Scale AI?", "--json", *options, env=env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["retrieved"]) == retrieved


@pytest.mark.llm
def test_ask_honours_config_option(tmp_path, seeds_index):
    (tmp_path / "my.toml").write_text(f'k = 2\nindex = "{seeds_index}"')
    result = run("--config", "my.toml", "ask", "Wie viel Geld investiert Meta in Scale AI?", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["retrieved"]) == 2
