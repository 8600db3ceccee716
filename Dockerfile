# syntax=docker/dockerfile:1
# Builds both binaries; the dependency layer is cached as long as the
# manifests and the lock file do not change.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
ENV CARGO_TERM_COLOR=never
# 1. Dependencies only: the manifests with empty crates.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY shared/Cargo.toml shared/Cargo.toml
COPY api/Cargo.toml api/Cargo.toml
COPY worker/Cargo.toml worker/Cargo.toml
RUN mkdir -p shared/src api/src worker/src worker/examples \
 && echo 'fn main() {}' > api/src/main.rs && touch api/src/lib.rs \
 && echo 'fn main() {}' > worker/src/main.rs && touch worker/src/lib.rs \
 && echo 'fn main() {}' > worker/examples/bench.rs \
 && touch shared/src/lib.rs && echo 'fn main() {}' > shared/build.rs \
 && mkdir -p api/tests/api worker/tests/worker \
 && touch api/tests/api/main.rs worker/tests/worker/main.rs \
 && cargo build --release --locked --bins \
 && rm -rf shared/src api/src worker/src shared/build.rs
# 2. The sources.
COPY migrations migrations
COPY shared shared
COPY api api
COPY worker worker
RUN touch shared/src/lib.rs api/src/lib.rs api/src/main.rs worker/src/lib.rs worker/src/main.rs \
 && cargo build --release --locked --bins \
 && cp target/release/uptime-api target/release/uptime-worker /usr/local/bin/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin uptime
WORKDIR /app
COPY --from=build /usr/local/bin/uptime-api /usr/local/bin/uptime-worker /usr/local/bin/
COPY migrations /app/migrations
USER uptime
ENV APP_ENV=production LOG_FORMAT=json MIGRATIONS_DIR=/app/migrations
EXPOSE 8008 8009
CMD ["uptime-api"]
