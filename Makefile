# jobtrend: `make demo` runs the whole pipeline offline on bundled data; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: set up, then init + crawl (replay server, bundled data) + analyze + trends on SQLite, offline
demo: $(STAMP)
	$(BIN)/jobtrend demo

## test: set up, then run the tests on SQLite and on a throwaway PostgreSQL (started when initdb exists)
test: $(STAMP)
	scripts/run-tests

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data/demo.db data/demo.db-wal data/demo.db-shm .pytest_cache
