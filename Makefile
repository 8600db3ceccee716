# UpTime: `make run` starts the product, `make test` runs the tests.
SHELL := /bin/bash
CARGO ?= cargo

export DATABASE_URL ?= postgres://uptime:uptime@127.0.0.1:5432/uptime
export REDIS_URL ?= redis://127.0.0.1:6379/0
export UPTIME_BOOTSTRAP_API_KEY ?= dev_admin_key
# Tests create a database per test from a migrated template, as this role.
export TEST_DATABASE_URL ?= postgres://uptime:uptime@127.0.0.1:5432/postgres
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help services run build migrate test check fmt clippy clean-test-dbs bench docker-up docker-down docker-logs

help:
	@echo "make run      start PostgreSQL/Redis if needed, then the API (:8008) and a worker (:8009)"
	@echo "make test     run the whole test suite against real PostgreSQL and Redis"
	@echo "make check    rustfmt check and clippy with warnings denied"
	@echo "make migrate  apply database migrations"
	@echo "make bench    load benchmark: 5,000 HTTP monitors at 5 s against a local target"
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

# Load benchmark of the check pipeline (see BENCHMARKS.md). Knobs:
# BENCH_MONITORS, BENCH_INTERVAL, BENCH_SECONDS, BENCH_WARMUP, BENCH_WORKERS,
# BENCH_CONCURRENCY.
bench: services
	$(CARGO) build --release --bin uptime-worker --example bench
	target/release/examples/bench

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
