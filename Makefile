# Two commands from a fresh clone: `make chat` (main job) and `make test` (tests).
# Each target creates .venv on first use. torch is pinned first so a CPU machine gets the CPU
# build and no CUDA packages; later installs find 2.13.0 already satisfying the range.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
LLAMA_SERVER := $(VENV)/llama.cpp/bin/llama-server
TORCH_PIN := torch==2.13.0
# No global HF_HUB_OFFLINE: `make chat` may offer to download the configured model (with
# consent); tests, benchmarks and lint stay offline (their targets export it).
export TOKENIZERS_PARALLELISM ?= false
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

.PHONY: chat test bench lint install install-dev llama-server clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install $(TORCH_PIN) 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -W ignore -c "import torch"
	$(PIP) install -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import assistant, transformers, faiss, mcp, textual"
	touch $@

$(DEV_STAMP): $(STAMP)
	$(PIP) install -e ".[dev,bench]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import pytest, ruff, mypy"
	touch $@

# llama.cpp's server for the remote-engine tests, built once from the sources in the
# llama-cpp-python sdist (about 10 minutes on 2 cores; see scripts/build_llama_server.sh).
$(LLAMA_SERVER): | $(DEV_STAMP)
	bash scripts/build_llama_server.sh $(VENV)

install: $(STAMP)
install-dev: $(DEV_STAMP)
llama-server: $(LLAMA_SERVER)

chat: $(STAMP)
	$(BIN)/assistant chat

test: $(DEV_STAMP) $(LLAMA_SERVER)
	$(OFFLINE) $(BIN)/python -m pytest -q

bench: $(DEV_STAMP)
	$(OFFLINE) $(BIN)/python benchmarks/generate.py --json

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
