# syntax=docker/dockerfile:1
# The prediction service (step 6): the package with the serving dependencies only (no Prefect, no
# Great Expectations), run as a non-root user. The model is not in the image: the
# service loads the registry's champion at start-up and on POST /reload.
#   docker build -f docker/serving.Dockerfile -t {{ cookiecutter.project_slug }}-serving .

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM python:{{ cookiecutter.python_version }}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /build
# Dependencies first, in their own layer: it is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --no-install-project
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --no-editable

FROM python:{{ cookiecutter.python_version }}-slim-bookworm
# LightGBM (the compiled scoring path, and a ranking's model) needs OpenMP's runtime, which
# the slim image lacks.
RUN apt-get update && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app && mkdir /project && chown app /project
COPY --from=build /opt/venv /opt/venv
# Everything the service writes (the prediction log, BentoML's home) goes under /project: mount
# a volume there. 0.0.0.0 because the container's port is published by Docker.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    MLSD_PROJECT_DIR=/project MLSD_SERVE_HOST=0.0.0.0 MLSD_SERVE_PORT=3000
WORKDIR /project
USER app
EXPOSE 3000
# Ready means a champion is loaded (503 before): the container is healthy only when it can serve.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/readyz', timeout=4)"]
CMD ["{{ cookiecutter.project_slug }}", "serve"]
