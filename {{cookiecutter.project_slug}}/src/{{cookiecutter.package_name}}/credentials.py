"""The project's secrets: made on this machine when first needed, kept out of git and images.

`.secrets/` (git- and docker-ignored, mode 0700) holds one file per secret, mode 0600:

- `service_token`: what POST /reload requires (`Authorization: Bearer <token>`). The service and
  every client in the project (the retraining flow, the loop) read the same file; a setting
  (`MLSD_SERVICE_TOKEN`) replaces it where the file cannot be shared.
- `stack_*`: the credentials `make stack` gives its MLflow and Prefect servers (stack.py).

compose.yaml reads its own from `.env` (also never committed): `compose_secrets` adds the ones
missing there (the `secrets` command, `make secrets`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from .settings import Settings

SECRETS_DIR = ".secrets"
TOKEN_BYTES = 32
ADMIN = "admin"  # the user the stack's and compose's MLflow and Prefect know


def secret_file(project_dir: Path, name: str) -> str:
    """The secret `name` of this project, made (at random) the first time it is asked for."""
    folder = project_dir / SECRETS_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # whatever the umask made of it
    path = folder / name
    with contextlib.suppress(FileExistsError):  # another process made it first: read theirs
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_secret() + "\n")
    return path.read_text().strip()


def write_private(path: Path, text: str) -> Path:
    """Write `text` to `path`, readable by its owner only (it holds credentials)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def service_token(settings: Settings) -> str:
    if settings.service_token is not None:
        return settings.service_token.get_secret_value()
    return secret_file(settings.project_dir, "service_token")


def service_headers(settings: Settings) -> dict[str, str]:
    """What a client sends with POST /reload."""
    return {"Authorization": f"Bearer {service_token(settings)}"}


# What compose.yaml refuses to start without, each a new random value.
def new_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


COMPOSE_SECRETS: dict[str, Callable[[], str]] = {
    "POSTGRES_PASSWORD": new_secret,
    "MLFLOW_ADMIN_PASSWORD": new_secret,
    "MLFLOW_FLASK_SERVER_SECRET_KEY": new_secret,
    "PREFECT_AUTH_STRING": lambda: f"{ADMIN}:{new_secret()}",
}


def compose_secrets(project_dir: Path) -> list[str]:
    """Add to the project's `.env` (mode 0600) each compose secret it does not set yet; returns
    the names added. A value already there is kept: changing the PostgreSQL password of an
    existing volume locks MLflow out."""
    env_file = project_dir / ".env"
    text = env_file.read_text() if env_file.is_file() else ""
    present = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
    added = [name for name in COMPOSE_SECRETS if name not in present]
    if added:
        lines = "".join(f"{name}={COMPOSE_SECRETS[name]()}\n" for name in added)
        separator = "" if not text or text.endswith("\n") else "\n"
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(separator + "# compose.yaml's secrets (`secrets` command)\n" + lines)
    env_file.chmod(0o600)
    return added
