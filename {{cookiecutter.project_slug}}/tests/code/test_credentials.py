"""The project's secrets: made once, private to the user, never overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from {{ cookiecutter.package_name }}.credentials import (
    COMPOSE_SECRETS,
    compose_secrets,
    service_headers,
    service_token,
)
from {{ cookiecutter.package_name }}.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_service_token_is_made_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    token = service_token(settings)
    assert len(token) >= 40 and service_token(settings) == token
    assert mode(tmp_path / ".secrets") == 0o700
    assert mode(tmp_path / ".secrets" / "service_token") == 0o600
    assert service_headers(settings) == {"Authorization": f"Bearer {token}"}
    assert service_token(Settings(project_dir=tmp_path / "other")) != token  # per project


def test_a_token_setting_replaces_the_file(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, service_token=SecretStr("from-the-environment"))
    assert service_token(settings) == "from-the-environment"
    assert not (tmp_path / ".secrets").exists()
    assert "from-the-environment" not in repr(settings)  # not printed with the settings


def test_compose_secrets_are_added_once_and_kept(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MLSD_SEED=7\nPOSTGRES_PASSWORD=chosen")  # no final newline
    added = compose_secrets(tmp_path)
    assert added == [name for name in COMPOSE_SECRETS if name != "POSTGRES_PASSWORD"]
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert values["MLSD_SEED"] == "7" and values["POSTGRES_PASSWORD"] == "chosen"
    assert values["PREFECT_AUTH_STRING"].startswith("admin:")
    assert len({values[name] for name in added}) == len(added)  # each its own
    assert mode(env_file) == 0o600
    before = env_file.read_text()
    assert compose_secrets(tmp_path) == [] and env_file.read_text() == before
