"""The servers of compose.yaml, run for real with no Docker (`stack`, stack.py): PostgreSQL, an
MLflow server on it with proxied artifacts, a standing Prefect server, the worker and the
service, as local processes on 127.0.0.1. Then the whole loop through them: every flow a
deployment run that the worker executes, the champion read by the service from the MLflow
server, and nothing written to the project's own stores.

One stack for the module, started as a user starts it: it takes ~40 s to come up, and the loop
through it ~2.5 min (each flow run is a new process on the worker).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg2
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.processes import http_json
from {{ cookiecutter.package_name }}.runtime import tool_environment
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.stack import flow_names, prefect_headers

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

PACKAGE = "{{ cookiecutter.package_name }}"
START_SECONDS = 240
CREDENTIALS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "PREFECT_API_AUTH_STRING")


@dataclass(frozen=True)
class RunningStack:
    project: Path
    folder: Path
    process: subprocess.Popen[bytes]
    settings: dict[str, str]  # the stack's env file: what points a command at it
    env: dict[str, str]  # the environment commands run with, before those settings

    @property
    def prefect_api(self) -> str:
        return self.settings[f"{ENV_PREFIX}PREFECT_API_URL"]

    @property
    def mlflow_url(self) -> str:
        return self.settings[f"{ENV_PREFIX}MLFLOW_TRACKING_URI"]

    @property
    def service_url(self) -> str:
        return self.settings[f"{ENV_PREFIX}SERVICE_URL"]

    def output(self) -> str:
        return (self.folder.parent / "stack.out").read_text()


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def launch(project: Path) -> RunningStack:
    """`stack` for `project`, as a user starts it, once it has written its env file."""
    folder = project / ".stack"
    # This process's environment without the settings and tool homes of the project it runs in.
    tools = set(tool_environment(Settings(project_dir=project))) | {"PREFECT_API_URL"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in tools and not key.startswith(ENV_PREFIX)
    } | {f"{ENV_PREFIX}PROJECT_DIR": str(project)}
    with (project / "stack.out").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE, "stack"], env=env, stdout=output, stderr=output
        )
    deadline = time.monotonic() + START_SECONDS
    while not (folder / "env").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the stack did not come up:\n{(project / 'stack.out').read_text()}")
        time.sleep(1)
    return RunningStack(project, folder, process, read_env_file(folder / "env"), env)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def postmaster(folder: Path) -> psutil.Process:
    return psutil.Process(int((folder / "postgres" / "postmaster.pid").read_text().split()[0]))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = launch(tmp_path_factory.mktemp("stack-project"))
    # This process's clients (MLflow's, Prefect's) log in as a user's shell does, from the
    # stack's env file.
    with pytest.MonkeyPatch.context() as patch:
        for key in CREDENTIALS:
            patch.setenv(key, running.settings[key])
        try:
            yield running
        finally:
            stop(running.process)


def flow_runs(prefect_api: str) -> list[dict[str, object]]:
    """Every flow run the Prefect server ran, with its flow's name (not the runs its scheduler
    lists ahead for the monitoring deployment's interval)."""
    names = flow_names(prefect_api)
    _, runs = http_json(f"{prefect_api}/flow_runs/filter", {}, headers=prefect_headers())
    ran = [run for run in runs if run["state_type"] != "SCHEDULED"]
    return [run | {"flow": names[run["flow_id"]]} for run in ran]


def test_the_loop_runs_through_the_servers(stack: RunningStack) -> None:
    loop = subprocess.run(
        [sys.executable, "-m", PACKAGE, "loop", "--deployments"],
        env=stack.env | stack.settings,
        capture_output=True,
        text=True,
        timeout=1_500,
    )
    assert loop.returncode == 0, loop.stdout + loop.stderr
    out = loop.stdout
    # What the local loop asserts (the template's test of `make all`).
    assert "the service now answers with v2" in out, out
    assert re.search(r"^monitor .* drifted none \(share 0\.00\) -> none", out, flags=re.M), out
    assert re.search(r"^monitor .* -> retrain; promoted to champion", out, flags=re.M), out
    assert f"the service at {stack.service_url} loaded v1" in out, out

    # Every flow was a deployment run on the standing server, and the worker ran it; the
    # retraining ran inside the monitoring run that decided it.
    runs = flow_runs(stack.prefect_api)
    triggered = [run for run in runs if run["parent_task_run_id"] is None]
    assert sorted(str(run["flow"]) for run in triggered) == [
        "ingestion",
        "ingestion",
        "labels",
        "labels",
        "monitoring",
        "monitoring",
        "training",
    ]
    assert all(run["deployment_id"] and run["state_type"] == "COMPLETED" for run in triggered)
    nested = [run for run in runs if run["parent_task_run_id"] is not None]
    assert [(run["flow"], run["state_type"]) for run in nested] == [("training", "COMPLETED")]

    # The registry is the MLflow server's, on PostgreSQL; artifacts went through the server.
    name = Settings(project_dir=stack.project).registered_model_name
    client = MlflowClient(tracking_uri=stack.mlflow_url)
    assert len(client.search_model_versions(f"name='{name}'")) == 2
    champion = client.get_model_version_by_alias(name, "champion")
    assert champion.version == "2"
    socket_folder = str(stack.folder / "postgres")
    database = psycopg2.connect(host=socket_folder, dbname="mlflow", user="postgres")
    with database, database.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM model_versions WHERE name = %s", (name,))
        assert cursor.fetchone() == (2,)
    database.close()
    assert len(list((stack.folder / "mlartifacts").rglob("model.skops"))) == 2

    # The service read the champion from the server and logged what it scored in the project.
    status, model = http_json(f"{stack.service_url}/model")
    assert status == 200 and (model["version"], model["run_id"]) == ("2", champion.run_id)
    log = stack.project / "data" / "predictions" / "prediction_log.jsonl"
    assert len(log.read_text().splitlines()) == 4_001

    # Nothing went to the project's own stores.
    assert not (stack.project / "mlflow.db").exists()
    assert not (stack.project / "mlartifacts").exists()
    assert not (stack.project / ".prefect" / "prefect.db").exists()


def test_a_missing_deployment_is_one_message(stack: RunningStack) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from {{ cookiecutter.package_name }}.deployments import NoWorkerError, run_deployed

    expected = r"no deployment nothing/here: start the worker"
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.prefect_api}),
        pytest.raises(NoWorkerError, match=expected),
    ):
        run_deployed("nothing/here")


def status_of(method: str, url: str, body: bytes | None = None) -> int:
    """The HTTP status of a request sent with no credentials."""
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_nothing_changes_state_without_credentials(stack: RunningStack) -> None:
    """The chain that ran code through an open stack: upload a model to MLflow, register it,
    point the champion at it, reload the service. Each step is refused without credentials;
    the Prefect API neither lists nor deletes deployments."""
    name = Settings(project_dir=stack.project).registered_model_name
    mlflow_api = f"{stack.mlflow_url}/api/2.0"
    alias = json.dumps({"name": name, "alias": "champion", "version": "1"}).encode()
    assert status_of("POST", f"{mlflow_api}/mlflow/registered-models/alias", alias) == 401
    upload = f"{mlflow_api}/mlflow-artifacts/artifacts/0/attack/artifacts/model.pkl"
    assert status_of("PUT", upload, b"payload") == 401
    created = json.dumps({"name": name, "source": "mlflow-artifacts:/0/attack"}).encode()
    assert status_of("POST", f"{mlflow_api}/mlflow/model-versions/create", created) == 401
    assert status_of("GET", f"{mlflow_api}/mlflow/registered-models/search") == 401
    assert status_of("POST", f"{stack.service_url}/reload", b"{}") == 401
    assert status_of("POST", f"{stack.prefect_api}/deployments/filter", b"{}") == 401
    deployment = f"{stack.prefect_api}/deployments/00000000-0000-0000-0000-000000000000"
    assert status_of("DELETE", deployment) == 401
    # The stack's own clients, with the env file's credentials, get in.
    client = MlflowClient(tracking_uri=stack.mlflow_url)
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    listed, _ = http_json(f"{stack.prefect_api}/deployments/filter", {}, headers=prefect_headers())
    assert listed == 200
    assert oct((stack.folder / "env").stat().st_mode & 0o777) == "0o600"


def test_ctrl_c_stops_every_server(stack: RunningStack) -> None:
    """Last in this module: every process the stack started, PostgreSQL included, is gone."""
    started = [*psutil.Process(stack.process.pid).children(recursive=True)]
    # MLflow, Prefect, the service and the worker, and their own children; PostgreSQL is a
    # daemon (pg_ctl), not a child.
    assert len(started) >= 4
    started.append(postmaster(stack.folder))
    # The stack's folder for pgserver's runtime files, with any that older runs left.
    runtime_folders = set(Path(tempfile.gettempdir()).glob("mlsd-stack-*"))

    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=90) == 130, stack.output()
    _, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, [process.cmdline() for process in alive]
    remaining = set(Path(tempfile.gettempdir()).glob("mlsd-stack-*"))
    assert len(runtime_folders - remaining) == 1 and remaining <= runtime_folders, remaining
    assert "Stopping the stack" in stack.output()


def test_after_kill_9_the_next_stack_takes_over_postgres(tmp_path: Path) -> None:
    """Nothing runs at SIGKILL: the stack's children go with it, PostgreSQL (a daemon) stays,
    and the next stack on the same folder uses it and stops it."""
    runtime_folders = set(Path(tempfile.gettempdir()).glob("mlsd-stack-*"))
    first = launch(tmp_path)
    children = psutil.Process(first.process.pid).children(recursive=True)
    database = postmaster(first.folder)
    first.process.kill()
    first.process.wait()
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [process.cmdline() for process in alive]  # the worker included
    assert database.is_running()

    (first.folder / "env").unlink()
    second = launch(tmp_path)
    try:
        assert postmaster(second.folder).pid == database.pid
    finally:
        stop(second.process)
    assert second.process.returncode == 130, second.output()
    _, alive = psutil.wait_procs([database], timeout=30)
    assert not alive, "PostgreSQL outlived the stack that took it over"
    # The killed stack's runtime folder is all that stays (the second removed its own).
    (left,) = set(Path(tempfile.gettempdir()).glob("mlsd-stack-*")) - runtime_folders
    shutil.rmtree(left)
