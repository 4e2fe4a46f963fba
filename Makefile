# Two commands for a fresh machine:
#   make ask Q="Wie viel investiert Meta in Scale AI?"   # set up everything, then answer
#   make test                                            # the whole test suite
# Both are idempotent: the virtual environment, the compiled llama.cpp and the index of
# seeds/ are built once and reused.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
Q      ?= Wie viel investiert Meta in Scale AI?
# torch first, pinned: its CPU build; a bare `torch` requirement pulls several GB of CUDA.
TORCH  ?= torch==2.13.0
# llama-cpp-python is compiled for this machine by scripts/install_llama.py (5-10 minutes on
# 2 cores, once): AMX off on x86 (it crashes on Sapphire Rapids), the wheel cached under a key
# of version, flags and CPU. For a GPU build: make setup LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"
LLAMA_CMAKE_ARGS ?=
export LLAMA_CMAKE_ARGS

.PHONY: setup llama rebuild-llama browser ask test test-other-cpu lint index clean

setup: llama $(STAMP)

# Runs every time: a no-op when the installed build matches these flags and this CPU, so a
# changed LLAMA_CMAKE_ARGS takes effect. A new build rewrites $(VENV)/llama-build.json, which
# makes the stamp out of date: the smoke check runs again.
llama: | $(BIN)/python
	@$(BIN)/python scripts/install_llama.py

rebuild-llama: | $(BIN)/python
	$(BIN)/python scripts/install_llama.py --rebuild
	$(MAKE) setup

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"

$(VENV)/llama-build.json: ;

$(STAMP): pyproject.toml $(VENV)/llama-build.json | llama
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# load the default model and decode 64 tokens in a child process: one line if llama.cpp crashes
	$(BIN)/python -m rag.llm.smoke
	touch $(STAMP)

indexes/default/manifest.json: | setup
	$(BIN)/rag index seeds

index: setup
	$(BIN)/rag index seeds

ask: setup indexes/default/manifest.json
	$(BIN)/rag ask "$(Q)"

test: setup browser
	$(BIN)/python -m pytest

# the model tests with llama.cpp built for a lesser CPU (AVX2; ISA=sse4 for none), not on CI
ISA ?= avx2
test-other-cpu: setup browser
	$(BIN)/python scripts/test_other_cpu.py --isa $(ISA)

# Debian's Chromium for the browser tests (tests/test_browser.py drives it with Playwright;
# Playwright's own browser download is never used). Installed with apt-get as root or with
# passwordless sudo; elsewhere the tests skip with how to install it (under CI they fail).
# RAG_CHROMIUM=PATH names another Chromium.
browser:
	@if [ -n "$$RAG_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	else echo "note: no chromium here and no apt-get as root to install it: the browser tests will skip"; fi

# ruff (lint and format) and mypy, as configured in pyproject.toml; .ci/run runs it first
lint: setup
	$(BIN)/ruff check rag scripts tests
	$(BIN)/ruff format --check rag scripts tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) indexes/default
