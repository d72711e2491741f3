# Two commands on a fresh machine: `make demo` (set up, generate a month, ingest, settle, explain) and
# `make test` (set up, lint, run every test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO   := demo
DEMO_CONTACTS ?= 100000

.PHONY: setup demo demo-real test lint bench bench-integrity docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	rm -rf $(DEMO)
	$(BIN)/outcomes generate --out $(DEMO)/data --contacts $(DEMO_CONTACTS) --months 1 --seed 7 --start 2026-06
	$(BIN)/outcomes init $(DEMO)/workspace
	$(BIN)/outcomes contract add $(DEMO)/data/contract.yaml -w $(DEMO)/workspace
	$(BIN)/outcomes ingest interactions $(DEMO)/data/interactions.parquet -w $(DEMO)/workspace
	$(BIN)/outcomes ingest events $(DEMO)/data/events.parquet -w $(DEMO)/workspace
	$(BIN)/outcomes settle demo-bank-northwind --period 2026-06 -w $(DEMO)/workspace
	$(BIN)/outcomes explain demo-bank-northwind/2026-06 2 --no-sql -w $(DEMO)/workspace

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
	$(BIN)/outcomes explain technion-bank-callcenter/1999-01 2 --no-sql -w demo-real/workspace

lint: setup
	$(BIN)/ruff check src tests bench

test: setup lint
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/integrity.py

# precision / recall of the integrity detectors on generated gaming data (docs/integrity.md)
bench-integrity: setup
	$(BIN)/python bench/integrity.py

docs: setup
	$(BIN)/python -m outcomes.docs_cli > docs/cli.md

clean:
	rm -rf $(VENV) $(DEMO) demo-real .pytest_cache
