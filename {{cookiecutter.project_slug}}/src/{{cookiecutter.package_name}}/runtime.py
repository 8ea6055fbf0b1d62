"""Keep the tools inside the project and offline, whatever their defaults.

Prefect, MLflow, BentoML and Great Expectations read these variables when they are imported, so
`isolate_tools` runs from the package's ``__init__`` before any of them is. Values already set in
the environment win, so the same code points at real servers by configuration alone.
"""

from __future__ import annotations

import os

from .settings import Settings


def tool_environment(settings: Settings) -> dict[str, str]:
    env = {
        # Telemetry and analytics off: a run must not reach the internet.
        "DO_NOT_TRACK": "true",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "BENTOML_DO_NOT_TRACK": "true",
        # Homes inside the project instead of the user's home directory.
        "PREFECT_HOME": str(settings.prefect_home),
        "BENTOML_HOME": str(settings.project_dir / ".bentoml"),
        # matplotlib (training plots) builds a font cache in ~/.cache otherwise.
        "MPLCONFIGDIR": str(settings.project_dir / ".cache" / "matplotlib"),
        # The temporary Prefect server needs more than the default 20 s on 2 busy cores.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        # A registry that hangs answers within this, and is retried twice, not for minutes
        # (MLflow's defaults: 120 s, 7 retries with back-off).
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    }
    if settings.prefect_api_url:
        env["PREFECT_API_URL"] = settings.prefect_api_url
    return env | FORCED


# Never overridden by the environment: MLflow must not unpickle a model file. This project
# loads models itself, with skops and the types its code trusts (training/integrity.py).
FORCED = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}


def isolate_tools(settings: Settings) -> None:
    for key, value in tool_environment(settings).items():
        os.environ.setdefault(key, value)
    os.environ.update(FORCED)
