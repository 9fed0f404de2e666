# syntax=docker/dockerfile:1
# The exporter as a container: docker build -t github-copilot-exporter .
# Runs as uid 65532 and writes nothing to disk, so a read-only root filesystem works.

FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# A virtualenv is self-contained: the final stage copies it and nothing else from this stage.
# Dependencies and the build backend come from requirements.lock (`make lock`): exact versions, each file
# checked against its hash, so the same commit builds the same image. The layer outlives code changes.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml ./
COPY exporter/ exporter/
# No build isolation, which would fetch an unpinned setuptools; then no packaging tools left behind.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools wheel

FROM python:3.11-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="github-copilot-exporter" \
      org.opencontainers.image.description="Prometheus exporter for GitHub Copilot: seats and idle cost, spend, AI credits and budgets, and the daily usage-metrics reports, per organization, enterprise, team and user." \
      org.opencontainers.image.source="https://github.com/github-copilot-exporter/github-copilot-exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# The exporter needs no packaging tools at run time; fewer files, fewer scanner findings.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel
COPY --from=builder /opt/venv /opt/venv
# No bytecode writes at run time (the root filesystem may be read-only); logs go out unbuffered.
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 9185
# Python's standard library is the only HTTP client in the image: no curl or wget to install.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9185/healthz', timeout=4)"]
ENTRYPOINT ["github-copilot-exporter"]
# No default arguments: without a token and a target the exporter says what it needs.
# `docker run IMAGE --demo` serves demo data; a real deployment passes --org/--enterprise or --config.
CMD []
