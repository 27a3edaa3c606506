# syntax=docker/dockerfile:1
#
# release-bot's image: a static Go binary on distroless, running as non-root.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t release-bot .
#
# scripts/build-static.sh builds the same binary with the same flags without a
# container engine, and CI runs it to check the binary is static and stamped.
# Keep the two build commands identical.

ARG GO_VERSION=1.26

# --- build -------------------------------------------------------------------
# The build runs on the builder's own platform and cross-compiles for the
# target one (docker buildx build --platform linux/amd64,linux/arm64 …).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
# Module downloads first, so that a change to the code alone reuses this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bot ./cmd/bot
# Prove the stamp when the binary can run here (not when cross-compiling).
RUN if [ "${TARGETARCH}" = "$(go env GOHOSTARCH)" ]; then /out/bot version; fi

# --- runtime -----------------------------------------------------------------
# distroless/static has CA certificates, tzdata, /etc/passwd with "nonroot"
# (65532) and nothing else: no shell, no package manager. Pin it by digest in
# your own builds (…static-debian12:nonroot@sha256:…) for reproducible images.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="release-bot" \
      org.opencontainers.image.description="A Slack bot that promotes artifacts between environments with Kosli and GitHub Actions" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/release-bot/release-bot"
COPY --from=build /out/bot /bot
USER 65532:65532
# /healthz, /readyz and /metrics. Slack is reached over an outbound WebSocket
# (Socket Mode): nothing from Slack ever connects in.
EXPOSE 8080
# No HEALTHCHECK: distroless has no shell, curl or wget to run one, and the bot
# has no "check" subcommand. Kubernetes probes /healthz and /readyz instead
# (deploy/helm/release-bot), which is where health is acted on anyway.
ENTRYPOINT ["/bot"]
CMD ["serve"]
