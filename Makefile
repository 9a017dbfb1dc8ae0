# Two commands on a fresh machine: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-small clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools  # tests/test_packaging.py builds the wheel with it
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	./scripts/run-demo.sh

test: $(STAMP)
	./scripts/ensure-chromium.sh
	NAP_TEST_POSTGRES_URL="$$(./scripts/test-postgres.sh)" $(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks at 10,000 and 100,000 EVSEs on SQLite and PostgreSQL (bench/README.md).
bench: $(STAMP)
	NAP_TEST_POSTGRES_URL="$$(./scripts/test-postgres.sh)" $(BIN)/python -m bench.run --sizes 10000,100000 $(BENCH_ARGS)

# The small run CI does, to keep the benchmarks working.
bench-small: $(STAMP)
	NAP_TEST_POSTGRES_URL="$$(./scripts/test-postgres.sh)" $(BIN)/python -m bench.run --sizes 1000 \
		--api-seconds 3 --push-seconds 3 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
