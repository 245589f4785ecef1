# jobtrend: `make demo` runs the whole pipeline offline on bundled data; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test soak lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: set up, then init + crawl (replay server, bundled data) + analyze + trends on SQLite, offline
demo: $(STAMP)
	$(BIN)/jobtrend demo

## test: set up, then run the tests on SQLite and on a throwaway PostgreSQL (started when initdb exists); the 25
## slowest are listed at the end, to keep CI within its time
test: $(STAMP)
	scripts/run-tests -m "not soak" --durations=25

## soak: the slow reliability tests (fuzzing with 1,000 payloads per parser, chaos crawls), on both databases
soak: $(STAMP)
	scripts/run-tests -m soak

## lint: ruff, and the import-linter contracts of pyproject.toml (the layers of docs/architecture.md)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## bench: every benchmarks/bench_*.py, then one table of figures and references, about 30 minutes (the crawl of
## 6,000 boards / 200,000 postings into SQLite and PostgreSQL is most of it; BENCH_SCALE_BOARDS=1000 for a smaller
## one). BENCH_ARGS=--write-results also rewrites benchmarks/RESULTS.md; BENCH_ARGS=crawl runs only bench_crawl.py
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data/demo.db data/demo.db-wal data/demo.db-shm .pytest_cache
