"""One settings object: defaults inside the project, overridable by env and .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.runtime import isolate_tools, tool_environment
from {{ cookiecutter.package_name }}.settings import Settings, SettingsError, get_settings


def test_defaults_stay_inside_the_project(settings: Settings, tmp_path: Path) -> None:
    for path in (settings.data_dir, settings.reports_dir, settings.gx_dir, settings.prefect_home):
        assert path.is_relative_to(tmp_path)
    assert settings.validated_dir == tmp_path / "data" / "validated"
    assert settings.source_path is None


def test_environment_and_dotenv_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSD_PROJECT_DIR", str(tmp_path))
    (tmp_path / ".env").write_text("MLSD_BATCH_ROWS=123\nMLSD_DATA_DIR=elsewhere\n")
    monkeypatch.setenv("MLSD_DATA_DIR", "/srv/data")
    settings = get_settings()
    assert settings.batch_rows == 123
    assert settings.data_dir == Path("/srv/data")


def test_project_env_holds_the_generated_settings_under_dotenv_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSD_PROJECT_DIR", str(tmp_path))
    (tmp_path / "project.env").write_text("MLSD_FEATURE_STORE=feast\nMLSD_BATCH_ROWS=7\n")
    assert get_settings().feature_store == "feast" and get_settings().uses_feature_store
    (tmp_path / ".env").write_text("MLSD_BATCH_ROWS=123\n")
    assert (get_settings().batch_rows, get_settings().feature_store) == (123, "feast")
    monkeypatch.setenv("MLSD_FEATURE_STORE", "none")
    assert not get_settings().uses_feature_store
    monkeypatch.delenv("MLSD_FEATURE_STORE")
    (tmp_path / "project.env").write_text("MLSD_FEATURE_STORE=hopsworks\n")
    with pytest.raises(SettingsError, match=rf"'hopsworks' \(from {tmp_path}/project.env\)"):
        get_settings()


def test_invalid_setting_names_the_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLSD_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("MLSD_DRIFT", "sideways")
    with pytest.raises(SettingsError, match=r"MLSD_DRIFT='sideways' \(from the environment\)"):
        get_settings()


def test_a_bad_value_in_the_env_file_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLSD_PROJECT_DIR", str(tmp_path))
    (tmp_path / ".env").write_text("MLSD_SERVE_PORT=99999\n")
    with pytest.raises(SettingsError, match=rf"MLSD_SERVE_PORT='99999' \(from {tmp_path}/.env\)"):
        get_settings()


def test_tools_are_kept_inside_the_project_and_offline(settings: Settings) -> None:
    env = tool_environment(settings)
    assert env["PREFECT_HOME"] == str(settings.prefect_home)
    assert Path(env["MPLCONFIGDIR"]).is_relative_to(settings.project_dir)
    assert env["DO_NOT_TRACK"] == "true"
    assert env["GX_ANALYTICS_ENABLED"] == "false"
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert "PREFECT_API_URL" not in env


def test_a_configured_server_is_passed_to_prefect(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLSD_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("MLSD_PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert tool_environment(get_settings())["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_isolation_respects_what_the_user_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", "/opt/prefect")
    isolate_tools(settings)
    import os

    assert os.environ["PREFECT_HOME"] == "/opt/prefect"


def test_mlflow_tracks_inside_the_project_unless_told_otherwise(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.tracks_locally
    assert settings.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.mlflow_artifacts_dir == tmp_path / "mlartifacts"

    # MLflow writes MLFLOW_TRACKING_URI itself when a URI is set; it must not turn a local
    # store into a "server" whose artifacts land in the working directory.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.tracking_uri)
    assert get_settings().tracks_locally

    monkeypatch.setenv("MLSD_MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    assert get_settings().tracking_uri == "http://mlflow.internal:5000"
    assert not get_settings().tracks_locally
