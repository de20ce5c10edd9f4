# custrel: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.custrel-installed
# Two workers, one test file each (session fixtures such as the sample report stay per file), the longest files
# first (tests/conftest.py, LONGEST_FIRST); the 15 slowest tests are listed at the end, to see what to trim.
PYTEST_ARGS ?= -n 2 --dist loadfile --no-loadscope-reorder --durations=15

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

# The venv is (re)built when it is missing, broken (moved machine), or older than pyproject.toml.
$(STAMP): pyproject.toml
	@if ! $(PY) -c "import sys" >/dev/null 2>&1; then rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create or update .venv with the project and its dev tools

browser: ## Install Debian's Chromium for the browser tests (needs root; skipped with a message otherwise)
	@bash scripts/install_browser.sh

java: ## Install Debian's Java runtime for the Spark test (needs root; skipped with a message otherwise)
	@bash scripts/install_java.sh

report: $(STAMP) ## Run the full report on data/sample into reports/<run-id>/
	$(VENV)/bin/custrel report --config data/sample/custrel.yml

validate: $(STAMP) ## Validate the sample data and print the problems report
	$(VENV)/bin/custrel validate --config data/sample/custrel.yml

test: $(STAMP) browser java ## Run the whole test suite (lint, unit, notebooks, browser, Spark)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) ## Scale benchmarks at 100k, 1M, 3M customers (long; BENCH_ARGS="--sizes 100000" to choose)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lab: $(STAMP) ## Open JupyterLab on notebooks/4.0-explore.ipynb (stage explorer, customer story), kernel "custrel" registered
	$(PY) -m ipykernel install --sys-prefix --name custrel --display-name "Python (custrel)"
	cd notebooks && $(abspath $(VENV))/bin/jupyter lab 4.0-explore.ipynb

format: $(STAMP) ## Format and fix lint with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove caches (keeps .venv and reports)
	rm -rf .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help venv browser java report validate test bench lab format clean
