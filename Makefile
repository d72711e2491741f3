# Two commands on a fresh machine: `make demo` (set up, generate a month, ingest, settle, explain) and
# `make test` (set up, lint, run every test). `make test-fast` is the inner loop (no Spark, PostgreSQL, browser
# or slow real-data tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cksum pyproject.toml | cut -d' ' -f1)
# What the demo needs (the package alone) and what the tests need (plus pyspark and the test tools).
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(HASH)
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
PYTEST := $(BIN)/python -m pytest -n auto --dist loadfile -rs
DEMO   := demo
DEMO_CONTACTS ?= 100000

.PHONY: setup setup-dev demo demo-real test test-fast lint mutation bench bench-integrity bench-transcripts bench-server bench-lift docs clean

$(VENV)/bin/python:
	@echo "outcomes: creating the virtualenv $(VENV) with $(PYTHON) (Python >= 3.11)"
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "outcomes: installing outcomes and what it runs on (DuckDB, Ibis, SQLAlchemy, ...) into $(VENV)"
	$(PIP) -e .
	rm -f $(VENV)/.installed-run-*
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "outcomes: installing outcomes with the test tools and pyspark into $(VENV) (about 1.4 GB, once)"
	$(PIP) -e '.[dev]'
	rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-run-*
	touch $(DEV_STAMP) $(RUN_STAMP)

setup: $(RUN_STAMP)

setup-dev: $(DEV_STAMP)

demo: setup
	@echo "outcomes: generating $(DEMO_CONTACTS) contacts, then init, contract add, ingest, settle, explain"
	rm -rf $(DEMO)
	$(BIN)/outcomes generate --out $(DEMO)/data --contacts $(DEMO_CONTACTS) --months 1 --seed 7 --start 2026-06
	$(BIN)/outcomes init $(DEMO)/workspace
	$(BIN)/outcomes contract add $(DEMO)/data/contract.yaml -w $(DEMO)/workspace
	$(BIN)/outcomes ingest interactions $(DEMO)/data/interactions.parquet -w $(DEMO)/workspace
	$(BIN)/outcomes ingest events $(DEMO)/data/events.parquet -w $(DEMO)/workspace
	$(BIN)/outcomes settle demo-bank-northwind --period 2026-06 -w $(DEMO)/workspace
	$(BIN)/outcomes explain demo-bank-northwind/2026-06 2 -w $(DEMO)/workspace

# A month of real call-center data (the Technion "Anonymous Bank", ../shared/data) settled under examples/.
BANK := ../shared/data/technion_anonymous_bank
demo-real: setup
	rm -rf demo-real
	$(BIN)/outcomes init demo-real/workspace
	$(BIN)/outcomes contract add examples/technion-bank/contract.yaml -w demo-real/workspace
	for m in january august october; do \
	  $(BIN)/outcomes ingest interactions $(BANK)/$${m}_1999.txt.gz --mapping technion-bank -w demo-real/workspace || exit 1; \
	done
	$(BIN)/outcomes settle technion-bank-callcenter --period 1999-01 -w demo-real/workspace
	$(BIN)/outcomes explain technion-bank-callcenter/1999-01 2 -w demo-real/workspace

lint: setup-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

# Every test, Spark and PostgreSQL included (under CI=true a missing Java or database fails, never skips).
test: setup-dev lint
	$(PYTEST)

# The inner loop: the core without Spark, PostgreSQL, the browser or the slow real-data tests (< 90 s).
test-fast: setup-dev
	$(PYTEST) -m "not spark and not postgres and not browser and not slow"

# Mutation testing of pricing/ and metrics/outcomes.py (about 35 minutes; not part of `make test`): the share of
# wrong versions of the money-critical code the tests catch, per module, in bench/results/mutation-*.md
# (docs/testing.md). MUTATION_ARGS="--module outcomes.pricing.money --max-children 1" narrows it.
MUTATION_ARGS ?=
mutation: setup-dev
	$(BIN)/python bench/mutation.py run $(MUTATION_ARGS)

bench: setup-dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/integrity.py
	$(BIN)/python bench/transcripts.py
	$(BIN)/python bench/server.py
	$(MAKE) bench-lift

# calibration of the uplift statistics: A/A false favourable rate, coverage, power (docs/uplift.md)
LIFT_REPS ?= 150
bench-lift: setup-dev
	$(BIN)/python bench/lift.py --reps $(LIFT_REPS)

# transcripts per second: redaction plus the built-in scorers, one core and all cores (docs/analytics.md)
bench-transcripts: setup-dev
	$(BIN)/python bench/transcripts.py

# the shared server under load on loopback: live scorecard latency, ingest rate (docs/server.md)
bench-server: setup-dev
	$(BIN)/python bench/server.py

# precision / recall of the integrity detectors on generated gaming data (docs/integrity.md)
bench-integrity: setup-dev
	$(BIN)/python bench/integrity.py

docs: setup-dev
	$(BIN)/python -m outcomes.cli.docs > docs/cli.md

clean:
	rm -rf $(VENV) $(DEMO) demo-real .pytest_cache test-artifacts
