"""Bad input: one line on stderr, a non-zero exit, no traceback."""

import pytest
from click.testing import CliRunner

from rag.cli import main


def run(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_help_lists_commands():
    result = run("--help")
    assert result.exit_code == 0
    assert "index" in result.output and "ask" in result.output


@pytest.mark.parametrize("question", ["", "   ", "\n"])
def test_empty_question(tmp_path, question):
    result = run("ask", question, "--index", str(tmp_path))
    assert result.exit_code == 2
    assert "question is empty" in error_line(result)


def test_no_index_names_the_command_that_builds_it(tmp_path):
    result = run("ask", "Wer leitet Scale AI?", "--index", str(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert "rag index" in error_line(result)


def test_corpus_without_readable_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (corpus / "fake.txt").write_bytes(bytes(range(256)) * 4)  # binary under a text name
    (corpus / "blank.md").write_text("  \n\n")
    result = run("index", str(corpus), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 1
    assert "no readable .txt or .md file" in error_line(result)
    assert not (tmp_path / "idx").exists()


def test_missing_corpus_path(tmp_path):
    result = run("index", str(tmp_path / "nope"), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 1
    assert "does not exist" in error_line(result)


def test_missing_model_file(seeds_index, tmp_path):
    result = run("ask", "Wer leitet Scale AI?", "--index", str(seeds_index), "--model", str(tmp_path / "x.gguf"))
    assert result.exit_code == 1
    assert "does not exist" in error_line(result)


def test_model_that_is_not_gguf(seeds_index, tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    result = run("ask", "Wer leitet Scale AI?", "--index", str(seeds_index), "--model", str(fake))
    assert result.exit_code == 1
    assert "not a GGUF model file" in error_line(result)


def test_corrupt_gguf(seeds_index, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    result = run("ask", "Wer wird Interims-CEO von Scale AI?", "--index", str(seeds_index), "--model", str(broken))
    assert result.exit_code == 1
    assert "cannot load model" in error_line(result)


def test_index_built_with_another_embedder(seeds_index):
    result = run("ask", "Wer leitet Scale AI?", "--index", str(seeds_index), "--embedder", "minilm")
    assert result.exit_code == 1
    line = error_line(result)
    assert "built with embedder use-multilingual-v3" in line and "rebuild" in line


def test_bad_k(seeds_index):
    result = run("ask", "Wer?", "--index", str(seeds_index), "-k", "0")
    assert result.exit_code == 2
