# Every target creates and uses .venv itself: nothing needs installing by hand.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The demo needs the runtime only (no test tools, no torch): a small, quick install, with pip's
# progress shown. Tests and linters add the dev extra on top.
RUNTIME := $(VENV)/.runtime-$(HASH)
STAMP := $(VENV)/.installed-$(HASH)

.PHONY: demo test bench lint typecheck clean

$(RUNTIME): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	@echo "installing Tactful's runtime dependencies into $(VENV) ..."
	$(BIN)/python -m pip install --upgrade --progress-bar on pip
	$(BIN)/python -m pip install --progress-bar on -e .
	@rm -f $(VENV)/.runtime-* && touch $@

$(STAMP): $(RUNTIME)
	@echo "installing the test and lint tools (dev extra) ..."
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

demo: $(RUNTIME)
	$(BIN)/tactful demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@# wrk drives the HTTP figures (bench/http_load.py); without it bench/run.py skips them, saying so.
	@command -v wrk >/dev/null || apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk) \
		|| echo "wrk could not be installed: the HTTP figures will be skipped"
	$(BIN)/python bench/run.py --write docs/performance.md

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
