# The prediction service (step 6): the package with the serving dependencies only (no Prefect, no
# Great Expectations), run as a non-root user. The model is not in the image: the
# service loads the registry's champion at start-up and on POST /reload.
#   docker build -f docker/serving.Dockerfile -t {{ cookiecutter.project_slug }}-serving .
# Builds with BuildKit and with the classic builder (DOCKER_BUILDKIT=0): no BuildKit-only syntax.
# The first lines of each stage are the worker image's too, so the two builds share layers.

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
# Dependencies first, in their own layer: rebuilt only when pyproject.toml or the lock file
# changes (the README, which the package's metadata reads, comes with the code).
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-default-groups $SERVING_GROUPS --no-install-project
COPY README.md ./
COPY src ./src
RUN uv sync --locked --no-default-groups $SERVING_GROUPS --no-editable

FROM python:{{ cookiecutter.python_version }}-slim-bookworm
COPY docker/certs/ /usr/local/share/ca-certificates/extra/
# LightGBM (the compiled scoring path, and a ranking's model) needs OpenMP's runtime, which
# the slim image lacks.
RUN update-ca-certificates \
    && apt-get update && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app && mkdir /project && chown app /project
COPY --from=build /opt/venv /opt/venv
# Everything the service writes (the prediction log, BentoML's home) goes under /project: mount
# a volume there. 0.0.0.0 because the container's port is published by Docker. requests and
# httpx read the CA bundle these variables name, which holds docker/certs/ too.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    MLSD_PROJECT_DIR=/project MLSD_SERVE_HOST=0.0.0.0 MLSD_SERVE_PORT=3000
WORKDIR /project
USER app
EXPOSE 3000
# Ready means a champion is loaded (503 before): the container is healthy only when it can serve.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/readyz', timeout=4)"]
CMD ["{{ cookiecutter.project_slug }}", "serve"]
