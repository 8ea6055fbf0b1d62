"""The server topology on this machine, with no Docker: `make stack`, and the servers tests.

compose.yaml's services as local processes on 127.0.0.1 and free ports, their state in one
folder (default `<project>/.stack`):

- PostgreSQL 16 (the pgserver wheel), the MLflow server's backend store, on a unix socket in
  the stack's folder (no TCP port);
- the MLflow tracking server on it, proxying artifacts to a folder (clients never write there),
  behind MLflow's basic-auth app: every request needs the stack's MLflow credentials;
- a standing Prefect server, with its own database, behind Prefect's API auth string;
- the pipeline worker (the `worker` command), serving every flow as a deployment;
- the prediction service, reading the champion from the MLflow server;
- with the feature store on, Redis (the OS package's redis-server) as its online store.

The project's code is the same as on a laptop; only the settings `StackInfo.settings` lists
differ, as in compose.yaml. The credentials are made once per project in `.secrets/`
(credentials.py) and written, with the settings, to `.stack/env` (mode 0600) for other shells.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess  # nosec B404 # starts this package's own servers, with argument lists
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .credentials import ADMIN, new_secret, secret_file, write_private
from .processes import (
    STARTUP_SECONDS,
    LocalServer,
    child_environment,
    free_port,
    http_json,
    start_process,
    stop_process,
)
from .serving.local import start_service
from .settings import ENV_PREFIX, get_settings

# The flows the worker serves, as `flow name/deployment name` (deployments.py).
DEPLOYMENTS = (
    "ingestion/ingest",
    "folder-ingestion/ingest-folder",
    "training/train",
    "batch-scoring/score",
    "monitoring/monitor",
)
TRACKING_DATABASE = "mlflow"


def stack_credentials(project_dir: Path) -> dict[str, str]:
    """What a client of this project's stack authenticates with, as the tools read it from the
    environment: MLflow's basic-auth user and the Prefect API's auth string."""
    return {
        "MLFLOW_TRACKING_USERNAME": ADMIN,
        "MLFLOW_TRACKING_PASSWORD": secret_file(project_dir, "stack_mlflow_password"),
        "PREFECT_API_AUTH_STRING": f"{ADMIN}:{secret_file(project_dir, 'stack_prefect_password')}",
    }


def prefect_headers(auth_string: str | None = None) -> dict[str, str]:
    """What a raw HTTP call to the Prefect API sends: the auth string (default: the
    environment's PREFECT_API_AUTH_STRING), as HTTP Basic credentials."""
    auth_string = auth_string or os.environ.get("PREFECT_API_AUTH_STRING")
    if not auth_string:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(auth_string.encode()).decode()}


@dataclass
class StackInfo:
    folder: Path
    postgres_uri: str
    mlflow_url: str
    prefect_url: str
    service_url: str
    feature_online_store: str | None = None  # Redis, host:port, when the feature store is on
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)  # `stack_credentials`

    @property
    def settings(self) -> dict[str, str]:
        """What points a project at this stack instead of its files, and what it logs in with."""
        settings = {
            f"{ENV_PREFIX}MLFLOW_TRACKING_URI": self.mlflow_url,
            f"{ENV_PREFIX}PREFECT_API_URL": f"{self.prefect_url}/api",
            f"{ENV_PREFIX}SERVICE_URL": self.service_url,
        } | self.credentials
        if self.feature_online_store:
            settings[f"{ENV_PREFIX}FEATURE_ONLINE_STORE"] = self.feature_online_store
        return settings

    def exited(self) -> str | None:
        """The first of the stack's processes that is no longer running, if any."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return f"{name} (exit code {process.returncode}; its log is in {self.folder})"
        return None

    def env_file(self) -> Path:
        """The settings as a file to `source` in another shell (`set -a; . .stack/env`)."""
        lines = "".join(f"{key}={shlex.quote(v)}\n" for key, v in self.settings.items())
        return write_private(self.folder / "env", lines)


@dataclass
class RedisServer:
    address: str  # host:port, as MLSD_FEATURE_ONLINE_STORE takes it
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.process, timeout=30)


def start_redis(folder: Path, timeout: float = STARTUP_SECONDS) -> RedisServer:
    """Redis from the OS package on a free port of 127.0.0.1, in memory only: the feature
    store's online store, which `features` materializes again whenever it is lost."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError(
            "the feature store's online store in the stack is Redis: install redis-server "
            "(apt-get install redis-server), or name a running one in "
            f"{ENV_PREFIX}FEATURE_ONLINE_STORE (host:port)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        binary, "--bind", "127.0.0.1", "--port", str(port),
        "--save", "", "--appendonly", "no", "--dir", str(folder),
    ]  # fmt: skip
    process = start_process(command, os.environ, folder / "redis.log")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return RedisServer(f"127.0.0.1:{port}", process)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                message = f"redis-server did not start; see {folder / 'redis.log'}"
                raise RuntimeError(message) from None
            time.sleep(0.1)


def start_postgres(folder: Path) -> Any:
    """PostgreSQL from the pgserver wheel, on a unix socket in `folder`, with a database for
    MLflow. As root it runs as a system user `pgserver` (PostgreSQL refuses root)."""
    from pgserver.postgres_server import get_server

    forget_dead_handles(folder)
    server = get_server(folder, cleanup_mode="stop")
    if f"{TRACKING_DATABASE}\n" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f"CREATE DATABASE {TRACKING_DATABASE};")
    return server


def forget_dead_handles(folder: Path) -> None:
    """pgserver stops PostgreSQL when the last process that opened it lets go, counting the
    processes listed in `.handle_pids.json`. A stack killed with `kill -9` stays listed, and the
    server would then outlive every later stack: the processes that are gone are dropped."""
    handles = folder / ".handle_pids.json"
    if handles.is_file():
        pids = json.loads(handles.read_text() or "[]")
        handles.write_text(json.dumps([pid for pid in pids if process_exists(pid)]))


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def sqlalchemy_uri(postgres_uri: str, database: str) -> str:
    """pgserver's libpq URI (`postgresql://postgres:@/postgres?host=<socket folder>`) for
    another database, in the form MLflow's SQLAlchemy store takes."""
    prefix, _, query = postgres_uri.partition("?")
    base = prefix.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    return f"{base}/{database}?{query}"


def start_mlflow_server(
    folder: Path, backend_uri: str, env: Mapping[str, str], admin_password: str | None = None
) -> LocalServer:
    """An MLflow server on a free port; with `admin_password`, behind MLflow's basic-auth app
    (user `ADMIN`; no request without credentials gets anything)."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", backend_uri,
        "--artifacts-destination", str(folder / "mlartifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    # Job execution spawns consumer processes that outlive the server (STACK_NOTES).
    env = dict(env) | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    if admin_password is not None:
        command += ["--app-name", "basic-auth"]
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(write_auth_config(folder, admin_password))
        # Signs the app's CSRF tokens: one process, so a key of its own each start.
        env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = new_secret()
    process = start_process(command, env, folder / "mlflow.log")
    return LocalServer(f"http://127.0.0.1:{port}", process, health_path="/health")


def write_auth_config(folder: Path, admin_password: str) -> Path:
    """MLflow's basic-auth settings: its users database in `folder`, the admin's password, and
    no permission for a user that was not granted one."""
    return write_private(
        folder / "mlflow-auth.ini",
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{folder / 'mlflow-auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {admin_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
    )


def start_standing_prefect_server(
    folder: Path, env: Mapping[str, str], auth_string: str | None = None
) -> LocalServer:
    """A standing Prefect server with its own home and database, not the project's; with
    `auth_string` (user:password), every API call must carry it."""
    port = free_port()
    command = [
        sys.executable, "-m", "prefect", "server", "start",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = dict(env) | {"PREFECT_HOME": str(folder / "prefect")}
    if auth_string is not None:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    process = start_process(command, env, folder / "prefect.log")
    return LocalServer(f"http://127.0.0.1:{port}", process, health_path="/api/health")


def deployed(prefect_url: str) -> set[str]:
    """The pipeline deployments the Prefect server knows, as `flow/deployment`."""
    status, answer = http_json(
        f"{prefect_url}/api/deployments/filter", {}, headers=prefect_headers()
    )
    if status != 200:
        return set()
    flows = flow_names(f"{prefect_url}/api")
    return {f"{flows.get(d['flow_id'])}/{d['name']}" for d in answer}


def flow_names(prefect_api: str) -> dict[str, str]:
    """Each flow's name by its id, as the Prefect API at `prefect_api` (…/api) knows them."""
    _, flows = http_json(f"{prefect_api}/flows/filter", {}, headers=prefect_headers())
    return {flow["id"]: flow["name"] for flow in flows}


def wait_for_worker(
    worker: subprocess.Popen[bytes], prefect_url: str, timeout: float = STARTUP_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while not set(DEPLOYMENTS) <= deployed(prefect_url):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not deploy the flows within {timeout:.0f} s")
        time.sleep(0.5)


@contextlib.contextmanager
def environment_variable(name: str, value: str) -> Iterator[None]:
    """`name` set to `value` in this process, and put back as it was on the way out."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextlib.contextmanager
def running_stack(project_dir: Path, folder: Path | None = None) -> Iterator[StackInfo]:
    """Start the stack for `project_dir` (state in `folder`, default `<project>/.stack`), yield
    once every part answers, and stop every part on the way out, whatever happened."""
    folder = (folder or project_dir / ".stack").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    env = child_environment(project_dir)
    with contextlib.ExitStack() as stop:
        # pgserver keeps lock files under XDG_RUNTIME_DIR (else /tmp/runtime-<uid>, left behind),
        # and its socket there when the data folder's path is too long for one: a short
        # folder of our own, removed when the stack stops.
        runtime = tempfile.mkdtemp(prefix="mlsd-stack-")
        stop.callback(shutil.rmtree, runtime, ignore_errors=True)
        stop.enter_context(environment_variable("XDG_RUNTIME_DIR", runtime))
        postgres = start_postgres(folder / "postgres")
        # pgserver also stops the server at exit, taking its lock again: that would make the
        # runtime folder anew once it is removed. It is stopped here, so that hook goes.
        stop.callback(atexit.unregister, postgres._cleanup)
        stop.callback(postgres.cleanup)
        credentials = stack_credentials(project_dir)
        mlflow = start_mlflow_server(
            folder,
            sqlalchemy_uri(postgres.get_uri(), "mlflow"),
            env,
            admin_password=credentials["MLFLOW_TRACKING_PASSWORD"],
        )
        stop.callback(mlflow.stop)
        prefect = start_standing_prefect_server(
            folder, env, auth_string=credentials["PREFECT_API_AUTH_STRING"]
        )
        stop.callback(prefect.stop)
        # This process asks the Prefect server whether the worker deployed its flows.
        stop.enter_context(
            environment_variable("PREFECT_API_AUTH_STRING", credentials["PREFECT_API_AUTH_STRING"])
        )
        settings = get_settings(project_dir)
        redis = None
        if settings.uses_feature_store and not settings.feature_online_store:
            redis = start_redis(folder / "redis")
            stop.callback(redis.stop)
        mlflow.wait_until_up()
        prefect.wait_until_up()

        online_store = {f"{ENV_PREFIX}FEATURE_ONLINE_STORE": redis.address} if redis else {}
        service = start_service(
            project_dir,
            log=folder / "service.log",
            wait=False,
            settings={f"{ENV_PREFIX}MLFLOW_TRACKING_URI": mlflow.url}
            | online_store
            | {key: value for key, value in credentials.items() if key.startswith("MLFLOW_")},
        )
        stop.callback(service.stop)
        info = StackInfo(
            folder=folder,
            postgres_uri=postgres.get_uri(TRACKING_DATABASE),
            mlflow_url=mlflow.url,
            prefect_url=prefect.url,
            service_url=service.url,
            feature_online_store=redis.address if redis else None,
            credentials=credentials,
        )
        # The worker looks for new runs every 2 s instead of Prefect's 10: on one machine, runs
        # triggered one after another (the loop) start sooner.
        worker_env = env | info.settings | {"PREFECT_RUNNER_POLL_FREQUENCY": "2"}
        # SIGKILL when the stack dies without stopping it (`kill -9`): on SIGTERM, Prefect's
        # runner waits to report to a Prefect server that died with the stack, for ever.
        worker = start_process(
            [sys.executable, "-m", __package__, "worker"],
            worker_env,
            folder / "worker.log",
            death_signal=signal.SIGKILL,
        )
        stop.callback(LocalServer(prefect.url, worker).stop)
        info.processes = {
            "MLflow server": mlflow.process,
            "Prefect server": prefect.process,
            "prediction service": service.process,
            "worker": worker,
        } | ({"Redis": redis.process} if redis else {})
        service.wait_until_up()
        wait_for_worker(worker, prefect.url)
        yield info
