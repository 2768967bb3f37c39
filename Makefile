# Two commands set everything up: `make demo` and `make test`. `make lint` checks the code and the
# docs, `make docs` builds the documentation site into site/.
# Each creates .venv on first use and reinstalls only when pyproject.toml changes.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# mkdocs without mkdocs-material's end-of-life banner
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

.PHONY: demo test lint docs clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark,docs]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vipml demo

test: $(STAMP)
	$(BIN)/python -m pytest

# ruff, mypy, and the docs built strictly (a broken link or docstring reference fails)
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(MKDOCS) build --strict --quiet --site-dir $(VENV)/lint-site

docs: $(STAMP)
	$(MKDOCS) build --strict

clean:
	rm -rf $(VENV) vipml-demo .pytest_cache site
