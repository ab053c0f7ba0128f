# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORPORA := ../shared/corpora

.PHONY: demo test lint typecheck unit docs bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The tour: a simulated cluster from every source with the attack stories it plays, the real
# corpora, and the hand-made stories of tests/fixtures/stories, then what kubetrail makes of them.
DEMO_AT := 2026-11-28T12:00:00Z
demo: $(STAMP)
	rm -rf demo.duckdb demo.duckdb.wal demo-sim
	$(BIN)/kubetrail simulate --out demo-sim --cluster sim --events 30000 -o table
	$(BIN)/kubetrail ingest demo-sim --cluster sim --db demo.duckdb -o table
	$(BIN)/kubetrail ingest $(CORPORA) --db demo.duckdb -o table
	$(BIN)/kubetrail ingest tests/fixtures/stories --cluster shop-prod --db demo.duckdb -o table
	$(BIN)/kubetrail incidents --db demo.duckdb --at $(DEMO_AT) --since 24h -o table
	$(BIN)/kubetrail ask processes --unexpected --db demo.duckdb --at $(DEMO_AT) --since 4h -o table
	$(BIN)/kubetrail ask egress --external --new --db demo.duckdb --at $(DEMO_AT) --since 4h -o table

test: lint typecheck docs unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python -m kubetrail.model | diff -u docs/fields.md - || (echo "docs/fields.md is stale: run '$(BIN)/python -m kubetrail.model > docs/fields.md'"; exit 1)

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.answers
	$(BIN)/python -m bench.correlate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo.duckdb demo.duckdb.wal demo-sim
