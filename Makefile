# UpTime: `make run` starts the product, `make test` runs the tests.
SHELL := /bin/bash
CARGO ?= cargo

export DATABASE_URL ?= postgres://uptime:uptime@127.0.0.1:5432/uptime
export REDIS_URL ?= redis://127.0.0.1:6379/0
export UPTIME_BOOTSTRAP_API_KEY ?= dev_admin_key
# Tests create a database per test from a migrated template, as this role.
export TEST_DATABASE_URL ?= postgres://uptime:uptime@127.0.0.1:5432/postgres
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help services run build migrate test check fmt clippy clean-test-dbs bench bench-api bench-status chaos chaos-short docker-up docker-down docker-logs

help:
	@echo "make run      start PostgreSQL/Redis if needed, then the API (:8008) and a worker (:8009)"
	@echo "make test     run the whole test suite against real PostgreSQL and Redis"
	@echo "make check    rustfmt check and clippy with warnings denied"
	@echo "make migrate  apply database migrations"
	@echo "make bench    benchmarks (BENCHMARKS.md): checks beside blackbox_exporter, 100,000 monitors, API with wrk on 10M results"
	@echo "make bench-status  public status pages under wrk beside the single-monitor GET, a 10-minute soak, snapshot build times"
	@echo "make chaos    chaos suite: faults in workers, Redis and Postgres, invariants checked (chaos-short: the CI form)"
	@echo "make docker-up / docker-down / docker-logs   the Compose stack (API, 2 workers, Postgres, Redis, Prometheus, Grafana)"

services:
	@scripts/services.sh

build:
	$(CARGO) build --release --bins

migrate: services
	$(CARGO) run --release --quiet --bin uptime-api -- migrate

run: services build
	@scripts/run.sh

test: services
	@scripts/test-deps.sh
	$(CARGO) test --workspace --all-targets
	@scripts/clean-test-dbs.sh

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean-test-dbs:
	@scripts/clean-test-dbs.sh

# Benchmarks (see BENCHMARKS.md): the check pipeline at 5,000 monitors / 5 s
# with blackbox_exporter probing the same target at the same rate, then
# 100,000 monitors / 60 s, then the API under wrk on a 10M-row dataset, then
# the public status pages.
# Knobs for the check benchmark: BENCH_MONITORS, BENCH_INTERVAL,
# BENCH_SECONDS, BENCH_WARMUP, BENCH_WORKERS, BENCH_CONCURRENCY, BENCH_BLACKBOX.
bench: services
	@scripts/bench-deps.sh
	$(CARGO) build --release --bins
	$(CARGO) build --release -p uptime-worker --example bench
	$(CARGO) build --release -p uptime-api --example page_build
	target/release/examples/bench
	BENCH_MONITORS=100000 BENCH_INTERVAL=60 BENCH_WARMUP=20 BENCH_BLACKBOX=0 target/release/examples/bench
	@scripts/bench-api.sh
	@scripts/bench-status.sh

# The API under wrk on 10,000 monitors, 10M results and a year of rollups
# (the dataset is built once, ~15 min, and reused; BENCH_API_REBUILD=1).
bench-api: services
	@scripts/bench-deps.sh
	$(CARGO) build --release --bins
	@scripts/bench-api.sh

# Public status pages (summary.json, the HTML page) under wrk beside the
# single-monitor GET, a soak with the API's RSS sampled (10 min;
# BENCH_STATUS_SOAK_SECONDS), and the snapshot build timed by the page_build
# example, on a 100-component page with 120 days of history (rebuilt each run).
bench-status: services
	@scripts/bench-deps.sh
	$(CARGO) build --release --bins
	$(CARGO) build --release -p uptime-api --example page_build
	@scripts/bench-status.sh

# Chaos suite (worker/examples/chaos.rs): its own Postgres and Redis, the API,
# three workers; 300 monitors and 30 s outages. chaos-short is the CI form
# (90 monitors, 10 s outages) on the debug binaries `make test` built.
chaos: services
	$(CARGO) build --release --bins
	$(CARGO) build --release -p uptime-worker --example chaos
	CHAOS_BIN_DIR=target/release target/release/examples/chaos

chaos-short: services
	$(CARGO) build --bins
	$(CARGO) build -p uptime-worker --example chaos
	CHAOS_SHORT=1 CHAOS_BIN_DIR=target/debug target/debug/examples/chaos

# The Compose stack (needs a Docker engine with the compose plugin, or the
# standalone docker-compose). The project is named uptime either way.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose) -p uptime
docker-up:
	$(COMPOSE) up -d --build
	@echo "API http://localhost:8008 (/workers), Prometheus http://localhost:9090, Grafana http://localhost:3000 (admin/admin)"

docker-down:
	$(COMPOSE) down

docker-logs:
	$(COMPOSE) logs -f --tail=100
