#!/usr/bin/env bash
# Installs what the benchmarks need: wrk and Prometheus' blackbox_exporter
# (Debian packages).
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-deps: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
    || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
         && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }
  # The package starts an exporter service on :9115 we do not need.
  as_root systemctl stop prometheus-blackbox-exporter >/dev/null 2>&1 \
    || as_root pkill -f '^/usr/bin/prometheus-blackbox-exporter' || true
fi
