# Quick start: `make demo` runs the main job on the embedded default; `make test` runs the suite.
# Both create or refresh the local virtualenv (.venv) themselves.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: demo test venv bench clean lint

# The test plugin (tests/plugins/hub_example) is never installed: the test session exposes
# it itself (tests/plugins/expose.py), so `hub connectors` lists only real connectors.
# The uninstall cleans venvs made before that.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[test,server]'
	@$(BIN)/pip uninstall --quiet --yes hub-example 2>/dev/null || true
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/hub --config config/demo.yaml demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The throughput figures of docs/operations.md. PostgreSQL at BENCH_PG_URL (throw-away
# databases are created next to it and dropped); dlt comes with the `bench` extra. --floor
# prints beside each rate what PostgreSQL alone needs to store the same rows
# (benchmarks/floor.py; needs pg_dump and psql).
BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
BENCH_ROWS ?= 100000,1000000

bench: $(STAMP)
	$(PIP_INSTALL) -e '.[bench]'
	$(BIN)/python benchmarks/mapping.py --records 200000
	HUB_DATABASE_URL=$(BENCH_PG_URL) $(BIN)/python benchmarks/identity.py --floor
	$(BIN)/python benchmarks/pipeline.py --backend postgresql --pg-url $(BENCH_PG_URL) --compare --floor --rows $(BENCH_ROWS) --repeat 2
	$(BIN)/python benchmarks/webhooks.py --backend postgresql --pg-url $(BENCH_PG_URL) --floor
	$(BIN)/python benchmarks/large_push.py --database-url $(BENCH_PG_URL)

clean:
	rm -rf var/ .pytest_cache .hypothesis
