"""`rag doctor` over real packages, models and indexes: healthy, stale, missing and damaged."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS

from rag.cli import main
from rag.cli.doctor import reindex_command

pytestmark = pytest.mark.e2e
LINE = re.compile(r"^(ok|warn|FAIL) +(\S+(?: \S+)*)  +(.*)$")


@pytest.fixture
def env(tmp_path) -> dict:
    """A home without models/ and no RAG_* settings from the caller's shell."""
    return {
        "RAG_HOME": str(tmp_path / "home"),
        "RAG_MODEL": None,
        "RAG_INDEX": None,
        "RAG_LLM_URL": None,
        "RAG_N_GPU_LAYERS": None,
    }


def doctor(env: dict, *args: str):
    result = CliRunner().invoke(main, ["doctor", *args], env=env)
    assert "Traceback" not in result.output
    return result


def parse(output: str) -> dict[str, dict]:
    """The printed report as {name: {status, detail, fix}}: one line per check, then its fix."""
    checks, last = {}, None
    for line in output.splitlines():
        if m := LINE.match(line):
            last = checks[m[2]] = {"status": m[1].lower(), "detail": m[3], "fix": None}
        elif line.strip().startswith("-> fix: "):
            last["fix"] = line.strip().removeprefix("-> fix: ")
    return checks


def packaged_gguf() -> Path:
    from rag.llm.catalog import packaged_path

    return packaged_path()


def test_healthy_setup_says_what_is_in_use(seeds_index, env):
    result = doctor(env, "--index", str(seeds_index))
    assert result.exit_code == 0, result.output
    checks = parse(result.output)
    assert all(c["status"] != "fail" for c in checks.values()), result.output
    manifest = json.loads((seeds_index / "manifest.json").read_text())
    index = checks["index"]["detail"]
    assert f"{manifest['chunks']} chunks" in index and "use-multilingual-v3" in index and "5 files" in index
    assert checks["index files"] == {"status": "ok", "detail": "all 5 indexed files unchanged on disk", "fix": None}
    assert str(packaged_gguf()) in checks["model"]["detail"] and "packaged default" in checks["model"]["detail"]
    assert str(packaged_gguf()) in checks["default model"]["detail"] and "sha256" in checks["default model"]["detail"]
    for name in ("python", "numpy", "faiss", "llama_cpp", "embedder use", "embedder minilm", "gpu offload"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "nothing downloads" in checks["offline"]["detail"]
    assert result.output.splitlines()[-1].endswith("0 failed")


def test_stale_and_missing_files_are_listed_with_the_command_that_updates_them(tmp_path, env):
    corpus, idx = tmp_path / "corpus", tmp_path / "idx"
    shutil.copytree(SEEDS, corpus)
    assert CliRunner().invoke(main, ["index", str(corpus), "--index", str(idx)]).exit_code == 0
    edited, deleted = sorted(corpus.glob("*.txt"))[:2]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nNachtrag.\n", encoding="utf-8")
    deleted.unlink()

    result = doctor(env, "--index", str(idx))
    assert result.exit_code == 0, result.output  # stale is a warning: answers still come
    files = parse(result.output)["index files"]
    assert files["status"] == "warn"
    assert f"1 changed ({edited})" in files["detail"] and f"1 missing ({deleted})" in files["detail"]
    assert files["fix"] == f"rag index {corpus} --index {idx}"

    assert CliRunner().invoke(main, shlex.split(files["fix"])[1:]).exit_code == 0
    assert (
        parse(doctor(env, "--index", str(idx)).output)["index files"]["detail"]
        == "all 4 indexed files unchanged on disk"
    )


def truncate_vectors(idx: Path) -> None:
    data = (idx / "vectors.faiss").read_bytes()
    (idx / "vectors.faiss").write_bytes(data[: len(data) // 3])


def garble_manifest(idx: Path) -> None:
    (idx / "manifest.json").write_text("{not json")


def remove(idx: Path) -> None:
    shutil.rmtree(idx)


@pytest.mark.parametrize(
    "damage, words, fix",
    [
        (remove, "no index at", "rag index [PATH ...] --index {idx}"),
        (truncate_vectors, "vectors.faiss is missing or damaged", "rag index {seeds} --index {idx}"),
        (garble_manifest, "is unreadable", "rag index [PATH ...] --index {idx}"),
    ],
)
def test_missing_or_damaged_index_fails_with_the_command_to_run(seeds_index, tmp_path, env, damage, words, fix):
    idx = tmp_path / "idx"
    shutil.copytree(seeds_index, idx)
    damage(idx)
    result = doctor(env, "--index", str(idx))
    assert result.exit_code == 1
    check = parse(result.output)["index"]
    assert check["status"] == "fail" and words in check["detail"]
    assert check["fix"] == fix.format(idx=idx, seeds=SEEDS)
    assert "index files" not in parse(result.output)  # nothing to compare without an index


@pytest.mark.parametrize(
    "model, status, words",
    [
        ("missing.gguf", "fail", "does not exist"),
        ("fake.gguf", "fail", "not a GGUF model file"),
        ("smollm", "ok", "SmolLM2"),
    ],
)
def test_chosen_model_is_described_from_its_header(seeds_index, smollm_path, tmp_path, env, model, status, words):
    (tmp_path / "fake.gguf").write_text("not a model")
    path = smollm_path if model == "smollm" else tmp_path / model
    result = doctor(env, "--index", str(seeds_index), "--model", str(path), "--json")
    check = next(c for c in json.loads(result.stdout) if c["name"] == "model")
    assert check["status"] == status and words in check["detail"], check
    assert result.exit_code == (1 if status == "fail" else 0)
    assert (check["fix"] is None) == (status == "ok")
    if status == "ok":
        assert "(--model)" in check["detail"] and "chat template" in check["detail"]


def test_json_is_a_list_of_checks(seeds_index, env):
    result = doctor(env, "--index", str(seeds_index), "--json")
    assert result.exit_code == 0
    checks = json.loads(result.stdout)
    assert all(set(c) == {"name", "status", "detail", "fix"} and c["status"] in ("ok", "warn", "fail") for c in checks)
    names = [c["name"] for c in checks]
    assert len(names) == len(set(names))
    assert {
        "python",
        "rag",
        "offline",
        "embedder use",
        "default model",
        "model",
        "index",
        "index files",
        "gpu offload",
    } <= set(names)


def test_a_remote_model_is_named_as_the_one_thing_that_is_not_offline(seeds_index, env):
    env = {**env, "RAG_LLM_URL": "http://gpu-box:8080"}
    checks = parse(doctor(env, "--index", str(seeds_index)).output)
    assert checks["offline"]["status"] == "warn" and "gpu-box:8080" in checks["offline"]["detail"]
    assert "unset RAG_LLM_URL" in checks["offline"]["fix"]
    assert "served by http://gpu-box:8080" in checks["model"]["detail"]


def test_gpu_layers_asked_of_a_cpu_build_say_how_to_rebuild(seeds_index, env):
    from rag.llm.llama import gpu_offload_supported

    check = parse(doctor({**env, "RAG_N_GPU_LAYERS": "-1"}, "--index", str(seeds_index)).output)["gpu offload"]
    if gpu_offload_supported():
        assert check["status"] == "ok" and "can offload" in check["detail"]
    else:
        assert check["status"] == "warn" and "CPU-only" in check["detail"]
        assert "-DGGML_CUDA=on" in check["fix"] and "llama-cpp-python" in check["fix"]


@pytest.mark.parametrize(
    "sources, command",
    [
        ([], "rag index [PATH ...] --index idx"),
        (["seeds/a.txt", "seeds/b.txt"], "rag index seeds --index idx"),
        (["c/x/a.txt", "c/b.txt", "c/x/y/z.md"], "rag index c --index idx"),  # nested folders fold into c
        (["notes.md", "docs/a.md"], "rag index docs notes.md --index idx"),  # not `.`: that is the whole folder
        (["/data/my notes/a.txt"], "rag index '/data/my notes' --index idx"),
    ],
)
def test_reindex_command_names_every_folder_the_index_came_from(sources, command):
    assert reindex_command(sources, Path("idx")) == command
