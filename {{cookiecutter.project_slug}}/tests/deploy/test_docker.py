"""The images and compose.yaml, built and run for real (the `docker` family): active whenever a
Docker engine is reachable (DOCKER_HOST, or the default socket), skipped otherwise.

Both images are built as the Dockerfiles document it, with BuildKit where the engine has it and
the classic builder where not. Then the compose stack comes up under a project name of its own
and on free ports; a batch is ingested and a champion trained, each a deployment run on the
Prefect server container that the worker container takes, the champion registered in the MLflow
server on PostgreSQL. The serving container loads it, turns healthy, and answers predictions
through its published port; `down -v` must leave no container, network or volume behind. With
the feature store on, the worker materializes entity features into the redis service between
ingestion and training, and the requests carry entity keys, which the service looks up there.

Base images that carry the `mlsd.stand-in` label were built locally in place of the official
ones (where no registry is reachable); the report names them. The figures (build and start-up
seconds, image sizes) go to build/docker-report.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.credentials import COMPOSE_SECRETS
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.processes import free_port, http_json
from {{ cookiecutter.package_name }}.serving.local import request_records
from {{ cookiecutter.package_name }}.settings import Settings, get_settings
from {{ cookiecutter.package_name }}.stack import prefect_headers

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

PROJECT = Path(__file__).resolve().parents[2]
SLUG = "{{ cookiecutter.project_slug }}"
PACKAGE = "{{ cookiecutter.package_name }}"
IMAGES = {"serving": f"{SLUG}-serving", "worker": f"{SLUG}-worker"}
PIPELINE_ONLY_MODULES = ("prefect", "great_expectations", "psycopg2", "evidently", "dask")
FEATURE_STORE = get_settings(PROJECT).uses_feature_store  # project.env: as generated
# Feast, in both images with the feature store; it requires Dask, which the service then has too.
FEATURE_STORE_MODULES = ("feast", "redis", "dask") if FEATURE_STORE else ()
STAND_IN_LABEL = "mlsd.stand-in"
REPORT = PROJECT / "build" / "docker-report.json"
# How long the stack may take to come up: `up` waits for every health check a service depends
# on, and on a loaded machine (CI runs other projects beside this) MLflow alone took 2 minutes.
UP_SECONDS = 900
# What the tests measured, written to REPORT when the module ends.
FIGURES: dict[str, object] = {}


def docker(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
    """Run the docker CLI; fail the test with its output unless it succeeds."""
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=PROJECT,
    )
    if result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def succeeds(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module", autouse=True)
def engine() -> Iterator[None]:
    if shutil.which("docker") is None or not succeeds("docker", "info"):
        pytest.skip("no Docker engine is reachable (set DOCKER_HOST, or start dockerd)")
    yield
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(FIGURES, indent=2) + "\n")


def base_images() -> list[str]:
    """The images the Dockerfiles build FROM and compose.yaml runs as they are."""
    names: list[str] = []
    for dockerfile in sorted((PROJECT / "docker").glob("*.Dockerfile")):
        stages = set()
        for image, stage in re.findall(r"^FROM (\S+)(?: AS (\S+))?", dockerfile.read_text(), re.M):
            if image not in stages:
                names.append(image)
            stages.add(stage)
    compose = yaml.safe_load((PROJECT / "compose.yaml").read_text())
    names += [s["image"] for s in compose["services"].values() if "build" not in s]
    return list(dict.fromkeys(names))


def inspect(*what: str) -> dict[str, Any]:
    """`docker inspect` of one object (`image NAME`, `container ID`...)."""
    found: dict[str, Any] = json.loads(docker(*what[:-1], "inspect", what[-1]))[0]
    return found


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """Both images, built from the project as its Dockerfiles say: the names they run under."""
    env = dict(os.environ)
    if not succeeds("docker", "buildx", "version"):
        env["DOCKER_BUILDKIT"] = "0"  # no buildx: the classic builder
    FIGURES["builder"] = "classic" if env.get("DOCKER_BUILDKIT") == "0" else "BuildKit"
    stand_ins = {}
    for image in base_images():
        if not succeeds("docker", "image", "inspect", image):
            docker("pull", image, timeout=600)
        labels = inspect("image", image)["Config"]["Labels"] or {}
        stand_ins[image] = labels.get(STAND_IN_LABEL, "official")
    FIGURES["base_images"] = stand_ins
    built: dict[str, dict[str, float]] = {}
    for role, name in IMAGES.items():  # serving first: the worker reuses its layers
        started = time.perf_counter()
        docker(
            "build", "--file", f"docker/{role}.Dockerfile", "--tag", name, ".",
            timeout=1_800, env=env,
        )  # fmt: skip
        built[name] = {
            "build_seconds": round(time.perf_counter() - started, 1),
            "size_mb": round(inspect("image", name)["Size"] / 1e6),
        }
    FIGURES["images"] = built
    return IMAGES


def run_in(image: str, code: str) -> object:
    """Run Python in a throw-away container of `image`; what the code prints, as JSON."""
    output = docker("run", "--rm", "--entrypoint", "python", image, "-c", code, timeout=120)
    return json.loads(output.strip().splitlines()[-1])


FIND_MODULES = (
    "import importlib.util, json, os; "
    "print(json.dumps({'uid': os.getuid(), 'found': [m for m in %r "
    "if importlib.util.find_spec(m)]}))"
)


def test_serving_image_is_non_root_and_has_no_pipeline_packages(images: dict[str, str]) -> None:
    wanted = sorted({"bentoml", *FEATURE_STORE_MODULES})
    probe = run_in(images["serving"], FIND_MODULES % (sorted({*PIPELINE_ONLY_MODULES, *wanted}),))
    assert probe == {"uid": 10001, "found": wanted}, probe


def test_worker_image_is_non_root_and_has_the_pipeline(images: dict[str, str]) -> None:
    wanted = sorted({*PIPELINE_ONLY_MODULES, *FEATURE_STORE_MODULES})
    probe = run_in(images["worker"], FIND_MODULES % (wanted,))
    assert probe == {"uid": 10001, "found": wanted}, probe


@dataclass(frozen=True)
class ComposeStack:
    command: list[str]  # the compose CLI with this stack's project name
    env: dict[str, str]
    ports: dict[str, int]

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args],
            env=self.env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def logs(self) -> str:
        return self("logs", "--no-color", "--tail", "60").stdout[-12_000:]

    def health(self, service: str) -> str:
        container = self("ps", "-q", service).stdout.split()[0]
        return str(inspect("container", container)["State"]["Health"]["Status"])

    def owned(self) -> dict[str, list[str]]:
        """The containers, networks and volumes Docker holds for this project."""
        project = self.command[self.command.index("--project-name") + 1]
        selector = f"label=com.docker.compose.project={project}"
        return {
            kind: docker(*listing, "--filter", selector, "--quiet").split()
            for kind, listing in {
                "containers": ("ps", "--all"),
                "networks": ("network", "ls"),
                "volumes": ("volume", "ls"),
            }.items()
        }


def compose_cli() -> list[str]:
    if succeeds("docker", "compose", "version"):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]  # Compose 1.x (Debian's 1.29), which reads the same file
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def wait_for(what: str, ready: object, stack: ComposeStack, timeout: float = UP_SECONDS) -> float:
    started = time.monotonic()
    while not ready():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what} not ready after {timeout:.0f} s:\n{stack.logs()}")
        time.sleep(2)
    return time.monotonic() - started


def answers(url: str, expected: int = 200) -> bool:
    try:
        return bool(http_json(url, timeout=5, headers=prefect_headers())[0] == expected)
    except OSError:
        return False


@pytest.fixture(scope="module")
def stack(images: dict[str, str]) -> Iterator[ComposeStack]:
    """compose.yaml, up from the images just built, on free ports; `down -v` after."""
    ports = {"mlflow": free_port(), "prefect": free_port(), "serving": free_port()}
    # The secrets compose refuses to start without, new for this stack (`make secrets`).
    secrets = {name: make() for name, make in COMPOSE_SECRETS.items()}
    running = ComposeStack(
        [*compose_cli(), "--project-name", f"{SLUG}-test-{os.getpid()}"],
        dict(os.environ)
        | secrets
        | {f"{service.upper()}_PORT": str(port) for service, port in ports.items()},
        ports,
    )
    # This process's MLflow and Prefect clients log in as compose's own services do.
    logins = {
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": secrets["MLFLOW_ADMIN_PASSWORD"],
        "PREFECT_API_AUTH_STRING": secrets["PREFECT_AUTH_STRING"],
    }
    before = {name: os.environ.get(name) for name in logins}
    os.environ.update(logins)
    FIGURES["compose"] = " ".join(running.command[:-2])
    started = time.perf_counter()
    up = running("up", "--detach", "--no-build", timeout=UP_SECONDS)
    try:
        if up.returncode != 0:
            pytest.fail(f"compose up failed:\n{up.stdout}\n{up.stderr}\n{running.logs()}")
        wait_for("the MLflow server", lambda: answers(f"{running.url('mlflow')}/health"), running)
        # The worker has registered its deployments: the pipeline can run.
        deployment = f"{running.url('prefect')}/api/deployments/name/training/train"
        wait_for("the worker's deployments", lambda: answers(deployment), running)
        FIGURES["stack_up_seconds"] = round(time.perf_counter() - started, 1)
        yield running
    finally:
        running("down", "--volumes", "--remove-orphans", "--timeout", "20")
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_a_champion_trained_through_the_containers_is_served(stack: ComposeStack) -> None:
    service = stack.url("serving")
    # No champion yet: the service is up but not ready, so its container is not healthy.
    wait_for("the service", lambda: answers(f"{service}/readyz", expected=503), stack)
    assert stack.health("serving") != "healthy"

    # Ingest a batch, then train: each a deployment run that the worker container takes from
    # the Prefect server container. Triggered inside the worker, where the flows' persisted
    # results are (the host cannot read them). The whole loop runs the same way
    # (`exec worker ... loop --deployments`, the serving README): ~2 more minutes here.
    # With the feature store, the batch's entity features go to the offline store and Redis
    # before training (the `features` deployment), as `make all` does.
    features = "run_deployed('features/materialize'); " if FEATURE_STORE else ""
    pipeline = (
        f"import json; from {PACKAGE}.deployments import run_deployed; "
        f"record = run_deployed('ingestion/ingest'); {features}"
        "outcome = run_deployed('training/train'); "
        "print(json.dumps([record.status, outcome.decision.summary()]))"
    )
    started = time.perf_counter()
    ran = stack("exec", "-T", "worker", "python", "-c", pipeline, timeout=900)
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}\n{stack.logs()}"
    FIGURES["ingest_and_train_seconds"] = round(time.perf_counter() - started, 1)
    status, decision = json.loads(ran.stdout.strip().splitlines()[-1])
    assert status == "validated" and "promoted to champion" in decision, decision
    # Nothing answers without credentials; the test logs in as the services do.
    assert http_json(f"{stack.url('prefect')}/api/flow_runs/filter", {})[0] == 401
    mlflow_search = f"{stack.url('mlflow')}/api/2.0/mlflow/registered-models/search"
    assert http_json(mlflow_search)[0] == 401
    _, listed = http_json(
        f"{stack.url('prefect')}/api/flow_runs/filter", {}, headers=prefect_headers()
    )
    # The runs that ran: Prefect's scheduler also lists the monitoring deployment's next ones.
    runs = [run for run in listed if run["state_type"] != "SCHEDULED"]
    assert len(runs) == 2 + FEATURE_STORE and all(r["deployment_id"] for r in runs), runs
    assert all(r["state_type"] == "COMPLETED" for r in runs), runs

    # The champion is in the MLflow server's registry (on PostgreSQL), seen through its port.
    name = Settings().registered_model_name
    client = MlflowClient(tracking_uri=stack.url("mlflow"))
    assert client.get_model_version_by_alias(name, "champion").version == "1"

    # The service loads it, turns healthy, and answers through the published port.
    # POST /reload needs the token the service made in the project volume.
    token = stack("exec", "-T", "serving", "cat", "/project/.secrets/service_token").stdout
    headers = {"Authorization": f"Bearer {token.strip()}"}
    assert http_json(f"{service}/reload", {})[0] == 401
    status, loaded = http_json(f"{service}/reload", {}, headers=headers)
    assert status == 200 and loaded["version"] == "1", loaded
    FIGURES["healthy_seconds_after_reload"] = round(
        wait_for("a healthy service", lambda: stack.health("serving") == "healthy", stack, 90), 1
    )
    contract = load_contract(Settings().contract_file)
    batch = generate_batch(rows=50, seed=11)
    records = request_records(batch, contract, feature_store=FEATURE_STORE)
    status, predictions = http_json(f"{service}/predict", {"records": records})
    assert status == 200 and len(predictions) == 50, predictions
    assert {p["model_version"] for p in predictions} == {"1"}
    if FEATURE_STORE:  # the records carried keys: their features came from the redis service
        assert not set(contract.entity_features()) & records[0].keys(), records[0]
        keys = stack("exec", "-T", "redis", "redis-cli", "dbsize").stdout.strip()
        assert int(keys or 0) > 0, keys
        status, model = http_json(f"{service}/model")
        assert model["feature_store"]["freshness"].startswith("online store fresh"), model
    status, error = http_json(f"{service}/predict", {"records": [records[0] | {"surplus": 1}]})
    assert status == 400 and "surplus" in json.dumps(error), error  # the field at fault


def test_down_leaves_nothing_behind(stack: ComposeStack) -> None:
    """Last in the module: `down -v` removes every container, network and volume."""
    before = stack.owned()
    assert before["containers"] and before["volumes"]
    down = stack("down", "--volumes", "--remove-orphans", "--timeout", "20")
    assert down.returncode == 0, down.stderr
    assert stack.owned() == {"containers": [], "networks": [], "volumes": []}
