# Image for cdtrack's worker and API in production (deploy/compose.yaml, deploy/kubernetes/).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/cdtrack
RUN pip install --no-cache-dir "uv>=0.5"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY cdtrack cdtrack
COPY workflows workflows
COPY activities activities
COPY api api
COPY store store
RUN uv sync --locked --no-dev
ENV PATH=/opt/cdtrack/bin:$PATH
USER nobody
