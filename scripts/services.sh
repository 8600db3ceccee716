#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis are running locally, installing them from the
# distribution's packages when absent, and that the `uptime` role and database
# exist. Safe to run repeatedly; never stops anything.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379
DB_USER=uptime
DB_PASS=uptime
DB_NAME=uptime

log() { printf 'services: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  log "installing $* from the distribution's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    install_packages postgresql postgresql-client
  fi
  if ! pg_ready; then
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
      log "no PostgreSQL cluster found under /etc/postgresql"
      exit 1
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    pg_ready || { log "PostgreSQL did not become ready on $PG_HOST:$PG_PORT"; exit 1; }
  fi
}

# Runs SQL as a superuser: over TCP when trust auth allows it, else as the
# postgres system user over the local socket (the Debian default).
psql_admin() {
  if psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1 </dev/null; then
    psql -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tA "$@"
  else
    as_root runuser -u postgres -- psql -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -tA "$@"
  fi
}

ensure_database() {
  psql_admin -q -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASS' CREATEDB;
      ELSE
        ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASS' CREATEDB;
      END IF;
    END \$\$;" </dev/null
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" </dev/null)" != "1" ]; then
    log "creating database $DB_NAME"
    psql_admin -q -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" </dev/null
  fi
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    install_packages redis-server
  fi
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
      --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || { log "Redis did not start on port $REDIS_PORT"; exit 1; }
  fi
}

ensure_postgres
ensure_database
ensure_redis
log "PostgreSQL on $PG_HOST:$PG_PORT (database $DB_NAME, user $DB_USER) and Redis on 127.0.0.1:$REDIS_PORT are ready"
