#!/usr/bin/env bash
# Drops per-test databases left behind by interrupted test runs.
set -euo pipefail
url=${TEST_DATABASE_URL:-postgres://uptime:uptime@127.0.0.1:5432/postgres}
for db in $(psql "$url" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'uptime_test_%'" 2>/dev/null); do
  psql "$url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
done
