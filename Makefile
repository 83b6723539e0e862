# tiket: `make run` sets up and runs the daemon on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint format install dev clean

$(BIN)/tiket: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/tiket
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/tiket

dev: $(VENV)/.dev

run: $(BIN)/tiket
	$(BIN)/tiket init
	exec $(BIN)/tiket serve

lint: $(VENV)/.dev
	$(BIN)/ruff check tiket tests bench
	$(BIN)/ruff format --check tiket tests bench
	$(BIN)/mypy --strict tiket/

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

format: $(VENV)/.dev
	$(BIN)/ruff format tiket tests bench
	$(BIN)/ruff check --fix tiket tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
