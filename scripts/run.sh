#!/usr/bin/env bash
# Starts the API and one worker from the release build; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

./target/release/uptime-api &
pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:${APP_PORT:-8008}/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "run: uptime-api exited" >&2; exit 1; }
  sleep 0.5
done
./target/release/uptime-worker &
pids+=($!)

cat <<MSG

  UpTime is running.
    Dashboard:      http://localhost:${APP_PORT:-8008}/   (sign in with the bootstrap key below)
    API:            http://localhost:${APP_PORT:-8008}/api/v1   (health: /health, metrics: /metrics)
    Worker metrics: http://localhost:${METRICS_PORT:-8009}/metrics
    Bootstrap key:  ${UPTIME_BOOTSTRAP_API_KEY}
  Try: curl -H "Authorization: Bearer ${UPTIME_BOOTSTRAP_API_KEY}" http://localhost:${APP_PORT:-8008}/api/v1/monitors
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
