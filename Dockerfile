# One image for cdtrack's worker, API (with its console), codec server and migrations
# (deploy/compose.yaml, deploy/kubernetes/). Build: docker build -t cdtrack:0.1.0 .
#
# The base is pinned to a Python release on Debian 12; the system packages below are exactly
# what WeasyPrint opens to render a debrief report (tests/deploy/test_dockerfile.py checks them
# against the libraries a rendering maps) plus fonts with Cyrillic for the Russian report.
FROM python:3.11.11-slim-bookworm AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/cdtrack UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# Dependencies first, so a change of cdtrack's code does not reinstall them.
RUN uv sync --locked --no-dev --no-install-project
COPY cdtrack cdtrack
COPY workflows workflows
COPY activities activities
COPY api api
COPY store store
COPY i18n i18n
COPY web web
# The console's pinned npm assets (htmx), checked against their integrity hashes.
RUN /opt/cdtrack/bin/python -m web.vendor && uv sync --locked --no-dev --no-editable

FROM python:3.11.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /var/lib/cdtrack --create-home cdtrack \
    && install -d -o cdtrack -g cdtrack -m 0700 /var/lib/cdtrack/heads
COPY --from=build /opt/cdtrack /opt/cdtrack
ENV PATH=/opt/cdtrack/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CDTRACK_DATA_DIR=/var/lib/cdtrack \
    CDTRACK_LOG_FORMAT=json \
    CDTRACK_API_HOST=0.0.0.0 \
    CDTRACK_WORKER_HEALTH_HOST=0.0.0.0 \
    CDTRACK_CODEC_SERVER_HOST=0.0.0.0 \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /var/lib/cdtrack
USER 10001:10001
# 8000: API and console; 8081: worker health and metrics; 8088: codec server.
EXPOSE 8000 8081 8088
# The API's health; a worker's container overrides it with its own port (compose, Kubernetes).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
CMD ["cdtrack", "api", "--no-migrate"]
