# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORPORA := ../shared/corpora

.PHONY: demo test test-chdb lint typecheck unit docs bench bench-precision bench-serve bench-alerts bench-ui clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The tour: `kubetrail demo` simulates a cluster with its attack stories, ingests it, and prints
# the incidents and the five answers; then the real corpora and the hand-made stories of
# tests/fixtures/stories go into the same store, and their incidents are printed too.
DEMO_AT := 2026-11-28T12:00:00Z
demo: $(STAMP)
	$(BIN)/kubetrail demo --db demo.duckdb --out demo-sim
	$(BIN)/kubetrail ingest $(CORPORA) --db demo.duckdb -o table
	$(BIN)/kubetrail ingest tests/fixtures/stories --cluster shop-prod --db demo.duckdb -o table
	$(BIN)/kubetrail incidents --cluster shop-prod --db demo.duckdb --at $(DEMO_AT) --since 24h -o table
	@echo
	@echo "Look at it in the web UI: $(BIN)/kubetrail ui --db demo.duckdb   (prints the URL to open)"

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

# The answers and incidents tests again, on the ClickHouse store through chDB (ClickHouse in this
# process; docs/clickhouse.md). The ClickHouse store's own tests are in `test`. `.ci/run` runs both.
test-chdb: $(STAMP)
	KUBETRAIL_TEST_BACKEND=chdb $(BIN)/pytest -n 2 tests/answers  # one chDB folder per worker process (tests/conftest.py)

# The benchmark suite at 1M and 10M simulated events (inputs and stores cached under bench/data/).
# `make bench BENCH_ARGS="--events 100000"` for a quick run; add --record to keep the result in
# bench/RESULTS.md.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# How many high or critical incidents match no planted story, over ten simulated days of 200,000
# events (bench/precision.py); add PRECISION_ARGS=--record to keep the result in bench/RESULTS.md.
PRECISION_ARGS ?=
bench-precision: $(STAMP)
	$(BIN)/python -m bench.precision $(PRECISION_ARGS)

# `kubetrail serve` under 10 minutes of load at 5,000 events/s (bench/serve.py); SERVE_ARGS="--burst", "--find-max", "--record".
SERVE_ARGS ?=
bench-serve: $(STAMP)
	$(BIN)/python -m bench.serve $(SERVE_ARGS)

# Incidents told as they happen: serve with a webhook output under the bench-serve load (bench/alerts.py); ALERTS_ARGS="--record".
ALERTS_ARGS ?=
bench-alerts: $(STAMP)
	$(BIN)/python -m bench.alerts $(ALERTS_ARGS)

# The web UI's pages beside the answers they show, on the suite's 10M store (bench/ui.py); UI_ARGS="--record".
UI_ARGS ?=
bench-ui: $(STAMP)
	$(BIN)/python -m bench.ui $(UI_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo.duckdb demo.duckdb.wal demo-sim build/screenshots
