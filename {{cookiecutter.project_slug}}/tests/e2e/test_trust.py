"""Trust, tried as an attacker and an SRE would: a model file cannot decide how it is loaded or
run code, a version whose gate failed is not served, what changes the service needs its token,
and serving goes on through a registry that hangs and a disk that fills.

The registry here is a real MLflow server (stopped with SIGSTOP while traffic runs); the full
disk is a small tmpfs under the prediction log when the tests run as root.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import pytest
import skops.io
import yaml
from mlflow import MlflowClient
from sklearn.preprocessing import FunctionTransformer

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.credentials import service_headers
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.processes import LocalServer, child_environment, http_json, signal_family
from {{ cookiecutter.package_name }}.serving.local import request_records, start_service
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.stack import start_mlflow_server
from {{ cookiecutter.package_name }}.training import integrity, registry
from {{ cookiecutter.package_name }}.training.flow import training_flow

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


class Touch:
    """A pickle that, when loaded, creates a file: the proof that loading ran its code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    project_dir = tmp_path_factory.mktemp("trusted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(project_dir))
        ingestion_flow(rows=5_000, seed=3)
        assert training_flow().decision.promote
        yield Settings(project_dir=project_dir)


def champion(settings: Settings) -> registry.ModelVersion:
    registry.connect(settings)
    found = registry.version_by_alias(settings.registered_model_name, registry.CHAMPION)
    assert found is not None
    return found


def rewrite_model(
    settings: Settings,
    version: registry.ModelVersion,
    files: dict[str, bytes],
    flavour: dict[str, Any],
) -> None:
    """Replace the version's model files, and, as an attacker with registry access could,
    its recorded digests too: only the code's own rules are left to stop the load."""
    (mlmodel,) = settings.mlflow_artifacts_dir.glob("models/*/artifacts/MLmodel")
    folder = mlmodel.parent
    for path in folder.iterdir():
        if path.name not in ("MLmodel",):
            path.unlink()
    document = yaml.safe_load(mlmodel.read_text())
    document["flavors"]["sklearn"] |= flavour
    mlmodel.write_text(yaml.safe_dump(document))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    recorded = integrity.recorded(version.tags[integrity.DIGEST_TAG], "test")
    digests = {k: v for k, v in recorded.items() if not k.startswith("model/")}
    digests |= integrity.folder_digests(folder, registry.MODEL_ARTIFACT)
    MlflowClient().set_model_version_tag(
        version.name, version.version, integrity.DIGEST_TAG, integrity.encode(digests)
    )


@pytest.fixture
def restored(trained: Settings) -> Iterator[registry.ModelVersion]:
    """The champion, with its model files and tags put back after the test."""
    version = champion(trained)
    (mlmodel,) = trained.mlflow_artifacts_dir.glob("models/*/artifacts/MLmodel")
    backup = mlmodel.parent.with_name("backup")
    shutil.copytree(mlmodel.parent, backup)
    yield version
    shutil.rmtree(mlmodel.parent)
    backup.rename(mlmodel.parent)
    registry.connect(trained)
    client = MlflowClient()
    for key, value in version.tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)


def test_a_pickled_model_is_never_unpickled(
    trained: Settings, restored: registry.ModelVersion, tmp_path: Path
) -> None:
    marker = tmp_path / "code-ran"
    payload = pickle.dumps(Touch(marker))
    rewrite_model(
        trained,
        restored,
        {"model.pkl": payload},
        {"serialization_format": "pickle", "pickled_model": "model.pkl"},
    )
    with pytest.raises(registry.ModelLoadError, match="only skops is loaded"):
        registry.load_model(champion(trained))
    # MLflow's own loader refuses too: the package turns its pickle switch off for good.
    assert os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] == "false"
    with pytest.raises(Exception, match="MLFLOW_ALLOW_PICKLE_DESERIALIZATION"):
        mlflow.sklearn.load_model(restored.uri)
    assert not marker.exists()
    assert pickle.loads(payload) is None and marker.exists()  # nosec B301 # proves the payload


def test_a_tampered_mlmodel_cannot_add_trusted_types(
    trained: Settings, restored: registry.ModelVersion
) -> None:
    hostile = skops.io.dumps(FunctionTransformer(func=os.system))
    assert "posix.system" in skops.io.get_untrusted_types(data=hostile)
    rewrite_model(
        trained,
        restored,
        {"model.skops": hostile},
        {
            "serialization_format": "skops",
            "pickled_model": "model.skops",
            "skops_trusted_types": ["posix.system"],
        },
    )
    with pytest.raises(registry.ModelLoadError, match=r"does not trust: \['posix.system'\]"):
        registry.load_model(champion(trained))


def test_files_changed_or_never_recorded_are_refused(
    trained: Settings, restored: registry.ModelVersion
) -> None:
    (model_file,) = trained.mlflow_artifacts_dir.glob("models/*/artifacts/model.skops")
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(
        registry.ArtifactMismatchError, match=re.escape("model/model.skops changed")
    ):
        registry.load_model(champion(trained))
    MlflowClient().delete_model_version_tag(restored.name, restored.version, integrity.DIGEST_TAG)
    with pytest.raises(registry.ArtifactMismatchError, match="no recorded artifact digests"):
        registry.load_model(champion(trained))


# --- the service, in front of a real MLflow server --------------------------------------------


@dataclass
class Served:
    url: str
    settings: Settings
    mlflow: LocalServer
    log: Path


def pause(pid: int, paused: bool) -> None:
    signal_family(pid, signal.SIGSTOP if paused else signal.SIGCONT)


def records(rows: int, seed: int) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = request_records(
        generate_batch(rows=rows, seed=seed), load_contract(Settings().contract_file)
    )
    return made


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A champion registered on an MLflow server, and the service reading it, checking it every
    second."""
    project_dir = tmp_path_factory.mktemp("served-by-server")
    (project_dir / "server").mkdir()
    mlflow_server = start_mlflow_server(
        project_dir / "server",
        f"sqlite:///{project_dir / 'server.db'}",
        child_environment(project_dir),
    )
    try:
        mlflow_server.wait_until_up()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(project_dir))
            patch.setenv(f"{ENV_PREFIX}MLFLOW_TRACKING_URI", mlflow_server.url)
            ingestion_flow(rows=5_000, seed=4)
            assert training_flow().decision.promote
            settings = Settings()
        log = project_dir / "service.log"
        service = start_service(
            project_dir,
            log=log,
            settings={
                f"{ENV_PREFIX}MLFLOW_TRACKING_URI": mlflow_server.url,
                f"{ENV_PREFIX}CHAMPION_CHECK_SECONDS": "1",
            },
        )
        try:
            yield Served(service.url, settings, mlflow_server, log)
        finally:
            service.stop()
    finally:
        if mlflow_server.process.poll() is None:
            pause(mlflow_server.process.pid, paused=False)
        mlflow_server.stop()


def test_reload_needs_the_token_and_a_failed_gate_is_not_served(served: Served) -> None:
    assert http_json(f"{served.url}/reload", {})[0] == 401
    assert (
        http_json(f"{served.url}/reload", {}, headers={"Authorization": "Bearer guess"})[0] == 401
    )
    # Someone with registry access points the champion at a version whose gate failed.
    mlflow.set_tracking_uri(served.mlflow.url)
    client = MlflowClient()
    name = served.settings.registered_model_name
    served_version = client.get_model_version_by_alias(name, registry.CHAMPION).version
    source = client.get_model_version(name, served_version)
    failed = mlflow.register_model(str(source.source), name)
    for key, value in source.tags.items():
        client.set_model_version_tag(name, failed.version, key, value)
    client.set_model_version_tag(name, failed.version, "gate", "failed")
    client.set_registered_model_alias(name, registry.CHAMPION, failed.version)
    try:
        status, body = http_json(
            f"{served.url}/reload", {}, headers=service_headers(served.settings)
        )
        assert status == 200 and not body["changed"], body
        assert (
            "promotion gate is failed" in body["error"] and "SERVE_UNGATED_VERSION" in body["error"]
        )
        assert body["version"] == served_version  # the version in memory keeps serving
        status, answered = http_json(f"{served.url}/predict", {"records": records(3, seed=8)})
        assert status == 200 and {p["model_version"] for p in answered} == {served_version}
    finally:
        client.set_registered_model_alias(name, registry.CHAMPION, served_version)


def test_a_hung_registry_does_not_stop_serving(served: Served) -> None:
    batch = records(20, seed=9)
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            statuses.append(http_json(f"{served.url}/predict", {"records": batch}, timeout=10)[0])
            time.sleep(0.02)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        time.sleep(2)
        pause(served.mlflow.process.pid, paused=True)
        deadline = time.monotonic() + 40
        while True:
            status, ready = http_json(f"{served.url}/readyz")
            if ready.get("registry_unreachable_since") or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert status == 200 and ready["registry_unreachable_since"], ready
        status, model = http_json(f"{served.url}/model")
        assert model["loaded"] and model["registry_unreachable_since"], model
        # Until MLflow's client gives up (its timeout and retries): still said, not taken for
        # "no champion".
        while "the registry is unreachable" not in served.log.read_text():
            assert time.monotonic() < deadline + 60, "the check never gave up"
            time.sleep(1)
        status, ready = http_json(f"{served.url}/readyz")
        assert status == 200 and ready["registry_unreachable_since"], ready
    finally:
        pause(served.mlflow.process.pid, paused=False)
    deadline = time.monotonic() + 60
    while http_json(f"{served.url}/readyz")[1].get("registry_unreachable_since"):
        assert time.monotonic() < deadline, "the service did not see the registry come back"
        time.sleep(1)
    stop.set()
    sender.join()
    assert len(statuses) > 50 and set(statuses) == {200}, sorted(set(statuses))
    log = served.log.read_text()
    assert "Traceback" not in log
    assert log.count("the registry is unreachable") == 1 and "the registry answers again" in log


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="a tmpfs needs root")
def test_a_full_disk_loses_log_lines_not_predictions(served: Served) -> None:
    folder = served.settings.prediction_log.parent
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    try:
        statuses = [
            http_json(f"{served.url}/predict", {"records": records(50, seed=n)})[0]
            for n in range(40)
        ]
        assert set(statuses) == {200}
        status, ready = http_json(f"{served.url}/readyz")
        assert status == 503 and ready["lost_log_lines"] > 0, ready
        assert "the prediction log cannot be written" in ready["problems"][0]
        model = http_json(f"{served.url}/model")[1]
        assert model["prediction_log"]["lost_lines"] == ready["lost_log_lines"]
        assert "No space left on device" in model["prediction_log"]["error"]
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
    assert http_json(f"{served.url}/predict", {"records": records(1, seed=99)})[0] == 200
    status, ready = http_json(f"{served.url}/readyz")
    assert status == 200, ready  # written again: ready again
    log = served.log.read_text()
    assert log.count("cannot be written") == 1 and "Traceback" not in log
