"""Static checks of what runs the system elsewhere: the Dockerfiles, compose.yaml and
bentofile.yaml, read with no container engine and held to the code: base images pinned,
non-root users, files that exist, commands the CLI has, ports and settings that match.
test_docker.py builds and runs them where an engine is reachable."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from typer.main import get_command

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings, get_settings

PROJECT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((PROJECT / "docker").glob("*.Dockerfile"))
SERVING_DOCKERFILE = PROJECT / "docker" / "serving.Dockerfile"
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
COMPOSE = yaml.safe_load((PROJECT / "compose.yaml").read_text(encoding="utf-8"))
BENTOFILE = yaml.safe_load((PROJECT / "bentofile.yaml").read_text(encoding="utf-8"))
PIPELINE_ONLY_MODULES = {"prefect", "great_expectations", "psycopg2"}


def instructions(dockerfile: Path) -> list[dict[str, Any]]:
    parser = DockerfileParser(path=str(dockerfile))
    structure: list[dict[str, Any]] = parser.structure
    return structure


def final_stage(dockerfile: Path) -> list[dict[str, Any]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, step in enumerate(steps) if step["instruction"] == "FROM")
    return steps[last_from:]


def values(steps: list[dict[str, Any]], instruction: str) -> list[str]:
    return [str(step["value"]) for step in steps if step["instruction"] == instruction]


def exec_form(value: str) -> list[str]:
    """A CMD or HEALTHCHECK CMD in exec (JSON) form: shell form would hide a missing binary."""
    command: list[str] = json.loads(value.removeprefix("CMD").strip())
    return command


def locked_version(package: str) -> str:
    lock = tomllib.loads((PROJECT / "uv.lock").read_text(encoding="utf-8"))
    return next(str(p["version"]) for p in lock["package"] if p["name"] == package)


def test_there_is_a_serving_and_a_worker_image() -> None:
    assert [path.name for path in DOCKERFILES] == ["serving.Dockerfile", "worker.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_base_images_are_pinned_by_tag(dockerfile: Path) -> None:
    stages: set[str] = set()
    python = (PROJECT / ".python-version").read_text(encoding="utf-8").strip()
    for value in values(instructions(dockerfile), "FROM"):
        image, _, stage = value.partition(" AS ")
        if image in stages:
            continue
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", f"{dockerfile.name}: {image} is not pinned"
        if name == "python":
            assert tag.startswith(f"{python}-"), f"{image} is not Python {python}"
        if name.endswith("astral-sh/uv"):
            assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image}: pin uv to a release"
        stages.add(stage.strip())


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_builds_with_the_classic_builder_too(dockerfile: Path) -> None:
    """No BuildKit-only syntax: engines without buildx (Debian's docker.io) build classically."""
    text = dockerfile.read_text(encoding="utf-8")
    assert not re.search(r"^#\s*syntax=", text, flags=re.M), "a frontend to pull"
    for step in instructions(dockerfile):
        value = str(step["value"])
        assert not re.search(r"--(mount|link|chmod|parents|exclude)\b", value), value
        assert "<<" not in value, f"a heredoc: {value}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_final_image_runs_as_a_non_root_user(dockerfile: Path) -> None:
    users = values(final_stage(dockerfile), "USER")
    assert users, f"{dockerfile.name}: the final stage never sets USER, so it runs as root"
    assert users[-1] not in {"root", "0", "0:0"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_copied_files_exist_and_pass_the_dockerignore(dockerfile: Path) -> None:
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (PROJECT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    for value in values(instructions(dockerfile), "COPY"):
        if value.startswith("--from="):
            continue
        *sources, _destination = value.split()
        for source in sources:
            assert (PROJECT / source).exists(), f"{dockerfile.name} copies missing {source}"
            assert source.rstrip("/") in allowed, f"{source} is excluded by .dockerignore"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_command_is_a_cli_command_and_health_is_checked(dockerfile: Path) -> None:
    stage = final_stage(dockerfile)
    (cmd,) = values(stage, "CMD")
    script, command = exec_form(cmd)
    assert script in PYPROJECT["project"]["scripts"]
    assert command in get_command(app).commands  # type: ignore[attr-defined]
    (healthcheck,) = values(stage, "HEALTHCHECK")
    probe = exec_form(healthcheck[healthcheck.index("CMD") :])
    assert probe[0] == "python"  # the slim image has no curl


def test_serving_image_serves_on_its_exposed_port_and_checks_readiness() -> None:
    stage = final_stage(SERVING_DOCKERFILE)
    port = Settings().serve_port
    assert values(stage, "EXPOSE") == [str(port)]
    env = " ".join(values(stage, "ENV"))
    assert f"{ENV_PREFIX}SERVE_PORT={port}" in env
    assert f"{ENV_PREFIX}SERVE_HOST=0.0.0.0" in env
    (healthcheck,) = values(stage, "HEALTHCHECK")
    assert f"http://127.0.0.1:{port}/readyz" in healthcheck


def test_serving_image_installs_only_the_serving_dependencies() -> None:
    syncs = [run for run in values(instructions(SERVING_DOCKERFILE), "RUN") if "uv sync" in run]
    assert syncs
    assert all("--locked" in run and "--no-default-groups" in run for run in syncs)
    base = " ".join(PYPROJECT["project"]["dependencies"])
    for module in PIPELINE_ONLY_MODULES:
        assert module.replace("_", "-") not in base, f"{module} is a serving dependency"


def test_service_imports_nothing_from_the_pipeline_group() -> None:
    """What makes the slim image work: the service never imports a pipeline-only package."""
    probe = (
        "import sys, json, {{ cookiecutter.package_name }}.serving.service; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT
    )
    imported = set(json.loads(result.stdout.splitlines()[-1]))
    assert "bentoml" in imported  # the probe did import the service
    assert not imported & PIPELINE_ONLY_MODULES


def test_compose_builds_existing_dockerfiles_and_publishes_on_loopback_only() -> None:
    services = COMPOSE["services"]
    built = {service["build"]["dockerfile"] for service in services.values() if "build" in service}
    assert built == {str(path.relative_to(PROJECT)) for path in DOCKERFILES}
    for name, service in services.items():
        image = service.get("image")
        if "build" in service:  # built here, under the name the Dockerfile's header gives
            dockerfile = service["build"]["dockerfile"]
            assert f"-t {image} ." in (PROJECT / dockerfile).read_text(encoding="utf-8")
        else:  # pulled: pinned
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
    port = Settings().serve_port
    published = "127.0.0.1:${SERVING_PORT:-" + f"{port}}}:{port}"  # SERVING_PORT moves it
    assert services["serving"]["ports"] == [published]


def test_compose_settings_are_settings_the_code_reads() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith(ENV_PREFIX):
                assert variable.removeprefix(ENV_PREFIX) in fields, f"{name}: {variable}"


def test_compose_runs_the_online_store_the_feature_store_needs() -> None:
    """With the feature store on (project.env), the worker and the service read it, with Redis
    as the online store; off, no Redis runs."""
    services = COMPOSE["services"]
    if not get_settings(PROJECT).uses_feature_store:  # project.env: as generated
        assert "redis" not in services
        return
    for name in ("worker", "serving"):
        environment = services[name]["environment"]
        assert environment[f"{ENV_PREFIX}FEATURE_STORE"] == "feast", name
        assert environment[f"{ENV_PREFIX}FEATURE_ONLINE_STORE"] == "redis:6379", name
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}, name
    assert services["redis"]["image"].startswith("redis:")
    for dockerfile in DOCKERFILES:  # both images install Feast and its Redis client
        assert '--group feature-store"' in dockerfile.read_text(encoding="utf-8"), dockerfile


def test_compose_prefect_server_matches_the_locked_client() -> None:
    image = COMPOSE["services"]["prefect"]["image"]
    assert image.startswith(f"prefecthq/prefect:{locked_version('prefect')}-python")


def test_bentofile_names_the_service_and_includes_its_package() -> None:
    module_name, _, class_name = BENTOFILE["service"].partition(":")
    service_module = importlib.import_module(module_name)
    assert hasattr(service_module, class_name)
    package_dir = Path(service_module.__file__ or "").parents[1]
    included = {
        path
        for pattern in BENTOFILE["include"]
        for path in PROJECT.glob(pattern)
        if "__pycache__" not in path.parts
    }
    package_files = {p for p in package_dir.rglob("*") if p.suffix in {".py", ".yaml"}}
    assert package_files and package_files <= included
    assert BENTOFILE["python"]["is_src_layout"] is True
    assert BENTOFILE["docker"]["python_version"] == (
        (PROJECT / ".python-version").read_text(encoding="utf-8").strip()
    )
