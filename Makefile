# The two commands of the README's quick start. Each sets up a local virtual environment
# (.venv) on its own, so both work on a fresh clone with nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test docs lint typecheck unit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,testing,sql,postgres,calendars,cli,docs,reports]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-cli: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[cli]'
	touch $@

## demo: run the main job: a working week at the service desk, simulated on an SQLite file
demo: $(VENV)/.installed-cli
	$(BIN)/itil-incident demo --db itil-incident-demo.sqlite3 --force

## test: ruff, mypy --strict (src, tests, examples, benchmarks), every test, and the
## documentation site built with warnings as errors (into the git-ignored site/)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests examples benchmarks docs/_griffe
	$(BIN)/mypy
	$(BIN)/pytest -n auto
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## docs: serve the documentation site on http://127.0.0.1:8000 while you edit it
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis site
