"""`rag models` and `--model NAME`: a temporary home holding the real SmolLM2 GGUF where
Ollama, LM Studio, the Hugging Face cache and models/ keep their files, plus the kinds of
debris a real laptop has (a text file named .gguf, broken links, a damaged manifest)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import ModelError
from rag.llm.catalog import assemble_packaged, choose_model, discover, find_model, packaged_path, resolve_model

ROOT = Path(__file__).resolve().parent.parent
SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf"
OLLAMA_NAME = "smollm2:135m"
LMSTUDIO_NAME = "lmstudio-community/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_1.gguf"
HF_REPO, HF_REV = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "9f3ab1c2d4e5f60718293a4b5c6d7e8f90a1b2c3"
HF_NAME = f"{HF_REPO}/smollm2-135m-instruct-q4_1.gguf"
STORES = [(SMOL, "models/"), (OLLAMA_NAME, "ollama"), (LMSTUDIO_NAME, "lm-studio"), (HF_NAME, "hf-cache")]
TOOL_ENV = ("OLLAMA_MODELS", "HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "RAG_MODEL", "RAG_LLM_URL")


def place(src: Path, dst: Path) -> Path:
    """One copy of the bytes: later places hard-link it (distinct paths, as separate downloads are)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another filesystem
        shutil.copyfile(src, dst)
    return dst


def manifest(*layers: tuple[str, str, int]) -> str:
    """An Ollama manifest as `ollama pull` writes it (OCI image manifest, schema 2)."""

    def layer(media, digest, size):
        return {"mediaType": media, "digest": digest, "size": size}

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": layer("application/vnd.docker.container.image.v1+json", "sha256:" + "c" * 64, 485),
            "layers": [layer(*spec) for spec in layers],
        }
    )


@pytest.fixture(scope="session")
def home(tmp_path_factory, smollm_path) -> Path:
    home = tmp_path_factory.mktemp("home")
    gguf = place(smollm_path, home / "models" / SMOL)  # copied once at most, linked from here on
    with open(gguf, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    (home / "models" / "not-a-model.gguf").write_text("a text file under a model's name")
    (home / "models" / "gone.gguf").symlink_to(home / "nowhere.gguf")

    ollama = home / ".ollama" / "models"
    place(gguf, ollama / "blobs" / f"sha256-{digest}")
    (ollama / "blobs" / f"sha256-{'a' * 64}").write_text("{{ .System }} {{ .Prompt }}")
    tags = ollama / "manifests" / "registry.ollama.ai" / "library" / "smollm2"
    tags.mkdir(parents=True)
    model_layer = ("application/vnd.ollama.image.model", f"sha256:{digest}", gguf.stat().st_size)
    template_layer = ("application/vnd.ollama.image.template", "sha256:" + "a" * 64, 27)
    for tag in ("135m", "latest"):  # two tags of one blob, as `ollama pull smollm2` leaves them
        (tags / tag).write_text(manifest(model_layer, template_layer))
    (tags / "broken").write_text("{not json")

    place(gguf, home / ".lmstudio" / "models" / LMSTUDIO_NAME)

    repo = home / ".cache" / "huggingface" / "hub" / ("models--" + HF_REPO.replace("/", "--"))
    place(gguf, repo / "blobs" / digest)
    snapshot = repo / "snapshots" / HF_REV
    snapshot.mkdir(parents=True)
    (snapshot / HF_NAME.rsplit("/", 1)[1]).symlink_to(Path("..", "..", "blobs", digest))
    (snapshot / "half-downloaded.gguf").symlink_to(Path("..", "..", "blobs", "f" * 64))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(HF_REV)

    # the packaged default lives under ~/.cache: link the verified one so that pointing HOME
    # here does not assemble 250 MB again
    packaged = assemble_packaged()
    cache = home / ".cache" / packaged.parent.name
    cache.mkdir(parents=True)
    for name in (packaged.name, packaged.name + ".verified"):
        (cache / name).symlink_to(packaged.parent / name)
    return home


@pytest.fixture
def in_home(home, monkeypatch) -> Path:
    """HOME and RAG_HOME at the fake home, no tool's own location variables."""
    for var in TOOL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RAG_HOME", str(home))
    return home


def listed(home: Path):
    return discover(home, home / "models", env={})


def run(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("name,source", STORES)
def test_each_store_is_found_with_its_header_facts(home, smollm_path, name, source):
    found = {m.name: m for m in listed(home)[0]}
    m = found[name]
    assert (m.source, m.quantization, m.context_length, m.chat_template) == (source, "Q4_1", 8192, True)
    assert m.size == smollm_path.stat().st_size
    assert 130e6 < m.n_params < 140e6
    assert m.architecture == "llama"


def test_packaged_default_is_listed_first(home):
    first = listed(home)[0][0]
    assert (first.source, first.path.resolve()) == ("packaged", packaged_path().resolve())


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_looking_writes_nothing(tmp_path, monkeypatch):
    """`rag models` and `rag doctor` look at the packaged default before it is assembled: it is
    reported as such and no file (not even its cache folder) appears."""
    for var in TOOL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    choice = choose_model(None, tmp_path / "models")
    assert (choice.packaged, choice.origin, choice.path) == (True, "packaged default", packaged_path())
    assert tmp_path in choice.path.parents and not choice.path.exists()
    found, skipped = discover(tmp_path, tmp_path / "models", env={})
    assert found == [] and [s.where for s in skipped] == ["packaged default"]
    assert "not assembled yet" in skipped[0].reason
    assert find_model("gemma", tmp_path, tmp_path / "models", env={}).source == "packaged"
    result = run("models")
    assert result.exit_code == 0 and "not assembled yet" in result.stderr, result.output
    assert tree(tmp_path) == []


def test_one_file_is_listed_once(home):
    names = [m.name for m in listed(home)[0]]
    assert len(names) == len(set(names))
    assert "smollm2:latest" not in names  # the same blob as smollm2:135m


@pytest.mark.parametrize(
    "where,reason",
    [
        ("models/not-a-model.gguf", "not a GGUF file"),
        ("models/gone.gguf", "broken symbolic link"),
        ("half-downloaded.gguf", "broken symbolic link"),
        ("smollm2/broken", "unreadable Ollama manifest"),
    ],
)
def test_debris_is_skipped_with_a_reason(home, where, reason):
    skipped = {s.where: s.reason for s in listed(home)[1]}
    assert [r for w, r in skipped.items() if w.endswith(where)] == [reason]


@pytest.mark.parametrize(
    "query,name",
    [
        (OLLAMA_NAME, OLLAMA_NAME),
        ("SMOLLM2:135M", OLLAMA_NAME),
        ("smollm2", "smollm2:latest"),  # Ollama's default tag, though listed as smollm2:135m
        (HF_NAME, HF_NAME),
        ("lmstudio-community/", LMSTUDIO_NAME),  # a unique prefix
        ("not-a-model.gguf", "not-a-model.gguf"),  # named, so found; resolve_model then rejects it
        ("gemma", None),  # the packaged default, by its file name
    ],
)
def test_find_model(home, query, name):
    found = find_model(query, home, home / "models", env={})
    if name is None:
        assert found.source == "packaged"
    else:
        assert found.name == name


@pytest.mark.parametrize(
    "query,message",
    [
        ("smollm2-135m", "matches 3 models"),  # LM Studio's, the HF cache's and models/ file names
        ("llama3.1:8b", "no model named 'llama3.1:8b'"),
        ("meta-llama/none.gguf", "does not exist and no model has that name"),
    ],
)
def test_find_model_refuses(home, query, message):
    with pytest.raises(ModelError) as err:
        find_model(query, home, home / "models", env={})
    assert message in str(err.value) and "rag models" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "explicit,expected",
    [
        (OLLAMA_NAME, lambda home: home / ".ollama" / "models" / "blobs"),
        (HF_NAME, lambda home: home / ".cache" / "huggingface" / "hub"),
        (None, lambda home: home / "models" / SMOL),  # no --model: the first GGUF in models/
    ],
)
def test_resolve_model_takes_names(in_home, explicit, expected):
    choice = resolve_model(explicit, in_home / "models")
    assert choice.path == expected(in_home) or expected(in_home) in choice.path.parents
    assert choose_model(explicit, in_home / "models") == choice  # nothing to assemble: the same


def test_resolve_model_rejects_a_named_file_that_is_no_model(in_home):
    with pytest.raises(ModelError, match="not a GGUF model file"):
        resolve_model("not-a-model.gguf", in_home / "models")


def test_models_table(in_home):
    result = run("models")
    assert result.exit_code == 0, result.output
    rows = {line.lstrip("* ").split()[0]: line for line in result.stdout.splitlines()}
    for name, source in STORES:
        # name, source, size ("98 MB"), quantisation, context, parameters, chat template
        assert rows[name].lstrip("* ").split()[1:] == [source, "98", "MB", "Q4_1", "8192", "135M", "yes"]
    assert rows[SMOL].startswith("*")  # the first GGUF in models/ is what `rag ask` uses
    assert sum(line.startswith("*") for line in result.stdout.splitlines()) == 2  # that row and the legend
    assert "not-a-model.gguf: not a GGUF file" in result.stderr


def test_models_json(in_home, smollm_path):
    result = run("models", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    models = {m["name"]: m for m in out["models"]}
    assert models[OLLAMA_NAME] | {"path": None} == {
        "name": OLLAMA_NAME,
        "path": None,
        "source": "ollama",
        "size": smollm_path.stat().st_size,
        "quantization": "Q4_1",
        "context_length": 8192,
        "chat_template": True,
        "n_params": 134515008,
        "architecture": "llama",
        "default": False,
    }
    assert [m["name"] for m in out["models"] if m["default"]] == [SMOL]
    assert {s["reason"] for s in out["skipped"]} >= {"not a GGUF file", "broken symbolic link"}


def test_models_with_a_bad_default_still_lists(in_home, monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "no-such-model")
    result = run("models")
    assert result.exit_code == 0
    assert "warning: no model named 'no-such-model'" in result.stderr
    assert OLLAMA_NAME in result.stdout and not any(line.startswith("*") for line in result.stdout.splitlines())


def test_ask_with_an_unknown_name(seeds_index):
    result = run("ask", "Wer leitet Scale AI?", "--index", str(seeds_index), "--model", "llama3.1:8b")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "rag models" in errors[0], result.output


@pytest.mark.llm
def test_ask_with_an_ollama_name(seeds_index, home, monkeypatch):
    # HOME stays real here (the embedder's cache is there): Ollama's own variable points at the store
    for var in TOOL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_MODELS", str(home / ".ollama" / "models"))
    result = run("ask", "Wer leitet Scale AI?", "--index", str(seeds_index), "--model", OLLAMA_NAME, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["answer"] and out["retrieved"]


def test_models_imports_no_heavy_library(in_home):
    code = (
        "import sys; from click.testing import CliRunner; from rag.cli import main; "
        "r = CliRunner().invoke(main, ['models', '--json']); assert r.exit_code == 0, r.output; "
        "print([m for m in ('llama_cpp', 'numpy', 'torch', 'faiss', 'tensorflow', 'sentence_transformers') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    assert out.stdout.strip() == "[]"
