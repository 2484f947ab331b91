# Build: docker build -t tambon .
# Run:   docker run -p 8080:8080 -v tambon-data:/data tambon
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# jemalloc (the allocator, built by tikv-jemalloc-sys) needs make, which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
# Cargo reads every target the manifest declares, benches included, even to build one
# binary: without benches/ it stops at "can't find `fanout` bench".
# scripts/check-docker-build rebuilds this stage from exactly these files.
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
COPY src ./src
# sled, patched (vendor/sled/PATCHES.md): Cargo.toml takes it from here.
COPY vendor ./vendor
RUN cargo build --release --locked --bin tambon

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app tambon \
    && mkdir -p /data && chown tambon /data
WORKDIR /app
COPY --from=build /src/target/release/tambon /usr/local/bin/tambon
COPY config ./config
COPY locales ./locales
USER tambon
ENV TAMBON_DATA_DIR=/data TAMBON_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["tambon"]
CMD ["serve"]
