#!/usr/bin/env bash
# Installs what the test suite needs beyond PostgreSQL and Redis: Debian's
# Chromium and playwright-core (from npm; it drives the system Chromium and
# downloads no browser) for the /workers page test, and Debian's prometheus
# package for promtool, and docker-compose (Debian's) to validate
# docker-compose.yml; no Docker engine is needed for that. And, in a
# virtualenv, the third-party Statuspage client that the compatibility test
# runs against our status pages (tests/clients/requirements.txt, pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  echo "test-deps: installing chromium"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
if ! command -v promtool >/dev/null; then
  echo "test-deps: installing prometheus (for promtool)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus
  # The package starts a Prometheus service we do not need.
  as_root systemctl stop prometheus >/dev/null 2>&1 || as_root pkill -x prometheus || true
fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  echo "test-deps: installing docker-compose (to validate docker-compose.yml)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose
fi
if ! command -v node >/dev/null; then
  echo "test-deps: installing nodejs and npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "test-deps: installing playwright-core"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
if ! cmp -s tests/clients/requirements.txt tests/clients/.venv/installed.txt 2>/dev/null; then
  echo "test-deps: installing the Statuspage clients of tests/clients/requirements.txt"
  rm -rf tests/clients/.venv
  python3 -m venv tests/clients/.venv
  tests/clients/.venv/bin/pip install -q --disable-pip-version-check --only-binary :all: \
    -r tests/clients/requirements.txt
  cp tests/clients/requirements.txt tests/clients/.venv/installed.txt
fi
