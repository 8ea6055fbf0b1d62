# syntax=docker/dockerfile:1
# The pipeline worker (steps 3, 5, 6 batch, 7): every flow of the project, served to a Prefect
# server as deployments by the `worker` command. Needs MLSD_PREFECT_API_URL (the Prefect server)
# and MLSD_MLFLOW_TRACKING_URI (the MLflow server); see compose.yaml.
#   docker build -f docker/worker.Dockerfile -t {{ cookiecutter.project_slug }}-worker .

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:{{ cookiecutter.python_version }}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /build
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-group stack --no-install-project
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-group stack --no-editable

FROM python:{{ cookiecutter.python_version }}-slim-bookworm
# LightGBM (the compiled scoring path, and a ranking's model) needs OpenMP's runtime, which
# the slim image lacks.
RUN apt-get update && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app && mkdir /project && chown app /project
COPY --from=build /opt/venv /opt/venv
# Data, reports, the GX project and tool homes go under /project: mount a volume there. The
# runner's own web server answers /health for the health check (inside the container only).
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 MLSD_PROJECT_DIR=/project \
    PREFECT_RUNNER_SERVER_ENABLE=true PREFECT_RUNNER_SERVER_HOST=127.0.0.1 \
    PREFECT_RUNNER_SERVER_PORT=8080
WORKDIR /project
USER app
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
CMD ["{{ cookiecutter.project_slug }}", "worker"]
