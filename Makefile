# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SAMPLE_CUSTOMERS ?= 2000
SAMPLE_SEED ?= 42
DAGSTER_PORT ?= 3000

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_PROFILES_DIR := $(CURDIR)
export UV_PYTHON_DOWNLOADS := never
# Installed modules compiled once: where PYTHONDONTWRITEBYTECODE is set (this image sets
# it) every dbt, Great Expectations or pytest process would compile them from source again
# (1.3 s of each dbt command).
export UV_COMPILE_BYTECODE := 1

.PHONY: help install run test lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.installed ## create .venv and install the locked dependencies

run: install ## generate sample data (unless RETAIN_RAW_DIR is set), build, test and publish
ifndef RETAIN_RAW_DIR
	$(BIN)/retain generate --customers $(SAMPLE_CUSTOMERS) --seed $(SAMPLE_SEED) --out data/raw
	$(BIN)/retain run --raw data/raw
else
	$(BIN)/retain run
endif

lint: install ## sqlfluff on the models, ruff on the Python
	$(BIN)/sqlfluff lint models --processes 2
	$(BIN)/ruff check retain orchestration tests tools

# Test processes (pytest-xdist): each module runs whole in one of them, the longest first
# (tests/python/conftest.py); the Spark stage beside the DuckDB tests. 2 on 2 cores: a third
# measured no faster.
TEST_PROCESSES ?= 2

test: install spark-install lint ## the full test suite: lint, then one pytest run of every test (dbt against fixture data, the browser and the Spark stage) in TEST_PROCESSES processes
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadscope --no-loadscope-reorder -m "not spark_daily"

clean: ## remove build output (keeps .venv)
	rm -rf target logs warehouse/.build

.PHONY: bench daily-check

bench: install spark-install ## benchmark full and daily incremental runs at 10k and 100k customers (BENCH_TIERS=10000,100000,1000000), and on the local Spark cluster at 10k (BENCH_SPARK_TIERS) -> bench/results.md
	$(BIN)/python -m tools.bench --spark-tiers $${BENCH_SPARK_TIERS:-10000}

daily-check: install ## three daily incremental runs on the 2k sample (CSV, then Parquet), each equal to a full rebuild (every interface table)
	$(BIN)/python -m tools.daily_check --format csv
	$(BIN)/python -m tools.daily_check --format parquet

.PHONY: dagster

dagster: install ## start the Dagster UI on localhost:3000 (DAGSTER_PORT), telemetry off
	mkdir -p .dagster_home
	cp orchestration/dagster.yaml .dagster_home/dagster.yaml
	$(BIN)/dbt parse --quiet
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev \
		-h 127.0.0.1 -p $(DAGSTER_PORT)

.PHONY: docs glossary

DOCS_TARGET ?= lint
DOCS_PORT ?= 8080

# target/docs: a manifest compiled for the in-memory lint target must not replace
# target/semantic_manifest.json, which mf reads to query the warehouse.
docs: install ## build the dbt docs site (target/docs/index.html, static_index.html) and serve it on localhost:8080
	$(BIN)/dbt docs generate --target $(DOCS_TARGET) --target-path target/docs --static
	$(BIN)/dbt docs serve --target $(DOCS_TARGET) --target-path target/docs --host 127.0.0.1 \
		--port $(DOCS_PORT) --no-browser

glossary: install ## regenerate README.md's metric glossary from the dbt docs (retain/glossary.py)
	$(BIN)/dbt parse --quiet
	$(BIN)/python -m retain.glossary --write README.md

.PHONY: dashboard dashboard-screenshots

DASHBOARD_PORT ?= 8501
SCREENSHOT_DIR ?= docs/dashboard

dashboard: install ## serve the dashboard over the published warehouse on 127.0.0.1:8501 (DASHBOARD_PORT), usage statistics off
	$(BIN)/retain dashboard --port $(DASHBOARD_PORT)

dashboard-screenshots: install ## screenshot every dashboard page over the published warehouse into docs/dashboard
	$(BIN)/python -m tools.browser $${RETAIN_DUCKDB_PATH:-warehouse/retain.duckdb} \
		$(SCREENSHOT_DIR)

.PHONY: spark-install java spark-test spark-parity spark-cluster spark-cluster-stop

# retain[spark] on top of the locked install: a re-sync of the default install
# (which drops extras) makes this stamp older, so it syncs again.
$(VENV)/.installed-spark: $(VENV)/.installed
	$(UV) sync --frozen --quiet --extra spark
	touch $@

java: ## Java 17 for Spark: installed from Debian when `java` is missing (CI runs as root)
	@command -v java >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }
	@java -version 2>&1 | head -1

spark-install: $(VENV)/.installed-spark java ## retain[spark] (dbt-spark, pyspark) and Java

spark-test: spark-install ## the Spark stage of make test (fixtures built and tested on the local cluster, every interface table equal to DuckDB's) and Spark's daily incremental runs (full D-2, then D-1 and D), which make test leaves out
	$(BIN)/pytest -m spark

spark-parity: spark-install ## DuckDB and Spark on the 10,000-customer sample, every interface table compared; times into bench/results.md
	$(BIN)/python -m tools.spark_parity --record

# A standalone master, two workers and a Thrift server, each a JVM of its own that outlives
# make, on 127.0.0.1 only; folder, ports and memory: `python -m retain.spark_cluster -h`.
spark-cluster: spark-install ## start a local Spark cluster (master, 2 workers, Thrift server on 127.0.0.1:10000) in warehouse/.spark-cluster
	$(BIN)/python -m retain.spark_cluster start

spark-cluster-stop: ## stop the JVMs `make spark-cluster` started (by their recorded pids)
	$(BIN)/python -m retain.spark_cluster stop
