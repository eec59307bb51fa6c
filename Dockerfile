# syntax=docker/dockerfile:1
# Annals: multi-stage build. The builder compiles the release binary (GraphiQL
# assets and seeds are embedded at compile time); the runtime image only holds
# the binary, CA certificates and an unprivileged user.

FROM rust:1-bookworm AS builder
WORKDIR /build

# Dependency cache: build the locked dependency graph against stub sources, so
# that changing only the project's own code does not rebuild every crate.
COPY Cargo.toml Cargo.lock ./
COPY migrations/Cargo.toml migrations/Cargo.toml
RUN mkdir -p src migrations/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch migrations/src/lib.rs \
    && cargo build --release --locked -p annals \
    && rm -rf src migrations/src \
        target/release/.fingerprint/annals-* \
        target/release/deps/annals-* \
        target/release/deps/libmigration-* \
        target/release/annals

# The real build.
COPY . .
RUN cargo build --release --locked -p annals \
    && install -D -m 0755 target/release/annals /out/annals

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system annals \
    && useradd --system --gid annals --home-dir /var/lib/annals --shell /usr/sbin/nologin annals \
    && install -d -o annals -g annals -m 0750 /var/lib/annals
COPY --from=builder /out/annals /usr/local/bin/annals

USER annals
WORKDIR /var/lib/annals
ENV ANNALS_LISTEN=0.0.0.0:8080
EXPOSE 8080
# No HEALTHCHECK: the slim image has no HTTP client; docker-compose and
# orchestrators probe the published port (GET / or POST /graphql) instead.
ENTRYPOINT ["/usr/local/bin/annals"]
CMD ["serve"]
