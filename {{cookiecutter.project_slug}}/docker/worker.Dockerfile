# The pipeline worker (steps 3, 5, 6 batch, 7): every flow of the project, served to a Prefect
# server as deployments by the `worker` command. Needs MLSD_PREFECT_API_URL (the Prefect server)
# and MLSD_MLFLOW_TRACKING_URI (the MLflow server); see compose.yaml, which also runs the MLflow
# server and the Dask scheduler and workers from this image.
#   docker build -f docker/worker.Dockerfile -t {{ cookiecutter.project_slug }}-worker .
# Builds with BuildKit and with the classic builder (DOCKER_BUILDKIT=0): no BuildKit-only syntax.
# The first lines of each stage are the serving image's too, so the two builds share layers.

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:{{ cookiecutter.python_version }}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
# Extra CA certificates, for a proxy that inspects TLS: PEM files named docker/certs/*.crt are
# trusted while building and in the image. None by default (serving README, "Docker").
COPY docker/certs/ /usr/local/share/ca-certificates/extra/
RUN update-ca-certificates
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1 \
    UV_NATIVE_TLS=true SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /build
# Dependency groups the service needs beyond the package's own: the feature store's (Feast and
# its Redis client), when the project has one.
ARG SERVING_GROUPS="{% if cookiecutter.feature_store == "feast" %}--group feature-store{% endif %}"
COPY pyproject.toml uv.lock ./
# The serving dependencies (the serving image's layer, reused), then the pipeline's.
RUN uv sync --locked --no-default-groups $SERVING_GROUPS --no-install-project
RUN uv sync --locked --no-default-groups $SERVING_GROUPS --group pipeline --no-install-project
COPY README.md ./
COPY src ./src
RUN uv sync --locked --no-default-groups $SERVING_GROUPS --group pipeline --no-editable

FROM python:{{ cookiecutter.python_version }}-slim-bookworm
COPY docker/certs/ /usr/local/share/ca-certificates/extra/
# LightGBM (the compiled scoring path, and a ranking's model) needs OpenMP's runtime, which
# the slim image lacks.
RUN update-ca-certificates \
    && apt-get update && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app && mkdir /project && chown app /project
COPY --from=build /opt/venv /opt/venv
# Data, reports, the GX project and tool homes go under /project: mount a volume there. The
# runner's own web server answers /health for the health check (inside the container only).
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    MLSD_PROJECT_DIR=/project \
    PREFECT_RUNNER_SERVER_ENABLE=true PREFECT_RUNNER_SERVER_HOST=127.0.0.1 \
    PREFECT_RUNNER_SERVER_PORT=8080
WORKDIR /project
USER app
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
CMD ["{{ cookiecutter.project_slug }}", "worker"]
