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

# The suite runs in one pytest process per core (pytest-xdist, at most 4): most of its time
# is spent waiting on servers, browsers and databases, and every test has its own database,
# ports and files, so they do not meet. PYTEST_XDIST=0 runs it in this process.
PYTEST_XDIST ?= -n auto --maxprocesses 4
test: $(STAMP)
	./scripts/ensure-test-programs.sh
	NAP_TEST_POSTGRES_URL="$$(./scripts/test-postgres.sh)" $(BIN)/python -m pytest $(if $(filter 0,$(PYTEST_XDIST)),,$(PYTEST_XDIST)) $(PYTEST_ARGS)

# Benchmarks on SQLite and PostgreSQL (bench/README.md): SIZES in EVSEs, each benchmark run
# RUNS times (the report gives medians and spreads), e.g. the EU scale of issue #22:
#   make bench SIZES=10000,100000,1000000
SIZES ?= 10000,100000
RUNS ?= 3
# supercluster, to measure the map's other way to cluster (bench/client_clusters.py); a
# machine without npm or the registry measures the rest.
SUPERCLUSTER := var/npm/node_modules/supercluster/index.js
$(SUPERCLUSTER):
	npm install --silent --no-save --prefix var/npm supercluster@8.0.1 || echo "supercluster not installed: the browser-side clustering is not measured"

bench: $(STAMP) $(SUPERCLUSTER)
	NAP_TEST_POSTGRES_URL="$$(./scripts/test-postgres.sh)" $(BIN)/python -m bench.run --sizes $(SIZES) \
		--runs $(RUNS) $(BENCH_ARGS)

# The small run CI does, to keep the benchmarks working. The fifty-feed scenario is left
# out: its deliberately slow CPOs alone take over a minute at any size (`make bench` runs it).
bench-small: $(STAMP) $(SUPERCLUSTER)
	NAP_TEST_POSTGRES_URL="$$(./scripts/test-postgres.sh)" $(BIN)/python -m bench.run --sizes 1000 --runs 1 \
		--only harvest,push,api,datex2,statistics,de_afir_push,merge --api-seconds 3 --push-seconds 3 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info
