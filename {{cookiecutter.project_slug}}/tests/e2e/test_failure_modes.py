"""Failure modes, run the way a user meets them: the real command in its own process, against
bad settings, documents, inputs and stores. Each gives one message naming the file, setting or
column, a documented exit code, no traceback, and leaves every store as it was.

The commands reach the test session's Prefect server (MLSD_PREFECT_API_URL) instead of starting
their own, except where starting one is what is tested.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.errors import BAD_INPUT, DATA_REJECTED, UNEXPECTED_FAILURE
from {{ cookiecutter.package_name }}.monitoring.flow import monitoring_flow
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.flow import training_flow
from worked_example import INT_FEATURE, TARGET

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
CLI = str(Path(sys.executable).with_name("{{ cookiecutter.project_slug }}"))
UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.fixture
def api_url(prefect_server: None) -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the test harness has no API URL"
    return str(url)


def command_env(project: Path, api_url: str | None = None) -> dict[str, str]:
    """This process's environment less its own settings, for a command run on `project`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MLSD_", "PREFECT_"))}
    environment[f"{ENV_PREFIX}PROJECT_DIR"] = str(project)
    if api_url:
        environment[f"{ENV_PREFIX}PREFECT_API_URL"] = api_url
    return environment


def cli(
    project: Path,
    *args: str,
    api_url: str | None = None,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), CLI, *args],
        env=command_env(project, api_url) | (env or {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def one_message(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in result.stderr, result.stderr


def unprivileged() -> list[str]:
    """As root, permission bits do not stop writes: drop the capability that skips them."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip(
            "running as root without setpriv: cannot test read-only stores (sudo apt-get "
            "install util-linux)"
        )
    return UNPRIVILEGED


@pytest.fixture
def trained(settings: Settings) -> Settings:
    ingestion_flow(rows=5_000, seed=1)
    assert training_flow().decision.promote
    return settings


def test_bad_settings_name_the_variable_and_help_still_works(settings: Settings) -> None:
    bad = {"MLSD_BATCH_ROWS": "many"}
    assert cli(settings.project_dir, "--help", env=bad).returncode == 0
    one_message(cli(settings.project_dir, "ingest", env=bad), BAD_INPUT, "MLSD_BATCH_ROWS='many'")
    status = cli(settings.project_dir, "status", "--json", env=bad)
    assert status.returncode == BAD_INPUT
    assert "MLSD_BATCH_ROWS" in json.loads(status.stdout)["error"]


def test_an_unknown_model_is_refused_before_any_work(settings: Settings) -> None:
    result = cli(settings.project_dir, "train", env={"MLSD_MODEL_NAME": "bogus"})
    one_message(result, BAD_INPUT, "MLSD_MODEL_NAME='bogus'", "gradient_boosting")
    assert not (settings.project_dir / ".prefect").exists()  # no Prefect server was started


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: x\nversion: 1\ncolumns: [", "cannot read data contract"),
        ("name: x\nversion: one\ncolumns: []", "version: Input should be a valid integer"),
        (
            "name: x\nversion: 1\ncolumns:\n"
            "  - {name: a, type: int}\n  - {name: a, type: int}\n"
            "  - {name: y, type: int, role: target, values: [0, 1]}\n",
            "duplicate column names: a",
        ),
        (
            "name: x\nversion: 1\ncolumns:\n  - {name: a, type: int}\n  - {name: b, type: int}\n",
            "exactly one column with role: target",
        ),
        (None, "No such file"),
    ],
)
def test_a_bad_contract_is_one_message(
    settings: Settings, tmp_path: Path, text: str | None, needle: str
) -> None:
    contract = tmp_path / "contract.yaml"
    if text is not None:
        contract.write_text(text)
    env = {"MLSD_CONTRACT_FILE": str(contract)}
    for command in (["ingest"], ["train"], ["status"]):
        result = cli(settings.project_dir, *command, env=env)
        one_message(result, BAD_INPUT, needle, str(contract))
        assert len(result.stderr.splitlines()) <= 6, result.stderr  # YAML points at the line
    status = cli(settings.project_dir, "status", "--json", env=env)
    assert needle in json.loads(status.stdout)["error"]


def test_a_rejected_batch_is_one_message_and_exit_1(
    settings: Settings, tmp_path: Path, api_url: str
) -> None:
    source = tmp_path / "batch.csv"
    frame = generate_batch(rows=300, seed=3).astype({INT_FEATURE: "object"})
    frame.loc[5, INT_FEATURE] = "thirty"
    frame.to_csv(source, index=False)
    result = cli(settings.project_dir, "ingest", "--source", str(source), api_url=api_url)
    one_message(result, DATA_REJECTED, INT_FEATURE, "not of type", "quarantined")
    assert "is the column missing" not in result.stderr
    assert list(settings.quarantine_dir.glob("*.parquet"))


@pytest.mark.parametrize("kind", ["empty.csv", "latin1.csv", "binary.parquet", "folder.csv"])
def test_an_unreadable_input_is_reported_and_logged(
    settings: Settings, tmp_path: Path, api_url: str, kind: str
) -> None:
    source = tmp_path / kind
    if kind == "empty.csv":
        source.write_text("")
    elif kind == "latin1.csv":
        source.write_bytes("impression_id,device\nx,caf\xe9\n".encode("utf-16"))
    elif kind == "binary.parquet":
        source.write_bytes(os.urandom(4096))
    else:
        source.mkdir()
    result = cli(settings.project_dir, "ingest", "--source", str(source), api_url=api_url)
    one_message(result, BAD_INPUT, str(source))
    if kind == "folder.csv":  # a folder is a set of batches: this one holds none
        assert "holds no batch to ingest" in result.stderr
    (logged,) = read_jsonl(settings.ingestion_log)
    assert logged["status"] == "unreadable" and logged["source"] == str(source)
    assert not settings.validated_dir.exists() or not list(settings.validated_dir.iterdir())


def test_a_truncated_tracking_database_is_named(trained: Settings) -> None:
    database = trained.local_tracking_db
    database.write_bytes(database.read_bytes()[:5000])
    before = database.read_bytes()
    for command in (["train"], ["status"], ["score", "x.csv"]):
        one_message(cli(trained.project_dir, *command), BAD_INPUT, str(database))
    status = cli(trained.project_dir, "status", "--json")
    assert str(database) in json.loads(status.stdout)["error"]
    assert database.read_bytes() == before


def test_a_read_only_registry_fails_before_fitting(trained: Settings) -> None:
    database = trained.local_tracking_db
    database.chmod(0o444)
    result = cli(trained.project_dir, "train", prefix=unprivileged())
    one_message(result, BAD_INPUT, str(database), "cannot be written")
    assert not (trained.project_dir / ".prefect" / "server.log").exists()  # stopped before


def test_a_read_only_data_folder_is_named(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    settings.data_dir.chmod(0o555)
    try:
        result = cli(settings.project_dir, "ingest", prefix=unprivileged())
        one_message(result, BAD_INPUT, str(settings.data_dir), "cannot write")
    finally:
        settings.data_dir.chmod(0o755)


def test_a_truncated_validated_batch_is_named(trained: Settings, api_url: str) -> None:
    (batch,) = trained.validated_dir.glob("*.parquet")
    batch.write_bytes(batch.read_bytes()[:-200])
    result = cli(trained.project_dir, "train", api_url=api_url)
    one_message(result, BAD_INPUT, str(batch), "cannot be read")


def test_a_corrupt_champion_is_named_by_version_and_file(
    trained: Settings, tmp_path: Path, api_url: str
) -> None:
    artifacts = trained.project_dir / "mlartifacts"
    source = tmp_path / "score.csv"
    generate_batch(rows=50, seed=9).to_csv(source, index=False)
    # A compiled path changed since registration: the version is refused, by any path.
    (compiled_spec,) = artifacts.rglob("compiled/compiled.json")
    registered = compiled_spec.read_bytes()
    compiled_spec.write_text("{not json")
    result = cli(trained.project_dir, "score", str(source), api_url=api_url)
    one_message(result, BAD_INPUT, "v1's files are not the ones it was registered with",
                "compiled/compiled.json changed")  # fmt: skip
    # A pipeline changed since registration: the same, naming its file, when it is what scores.
    compiled_spec.write_bytes(registered)
    (model_file,) = artifacts.rglob("model.skops")
    model_file.write_bytes(b"not a zip file")
    pipeline = {f"{ENV_PREFIX}SCORING_PATH": "pipeline"}
    result = cli(trained.project_dir, "score", str(source), api_url=api_url, env=pipeline)
    one_message(result, BAD_INPUT, "v1's files are not the ones", "model/model.skops changed")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None, reason="a small tmpfs needs root"
)
def test_ingest_on_a_full_disk_is_one_message_naming_the_file(tmp_path: Path, api_url: str) -> None:
    project = tmp_path / "full"
    data = project / "data"
    data.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(data)], check=True)
    try:
        result = cli(project, "ingest", api_url=api_url)
        one_message(result, BAD_INPUT, f"the batch {data / 'validated'}/", "no space left")
        assert not [path.name for path in data.rglob("*.parquet*")]  # nothing half-written
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_garbage_in_the_prediction_log_is_skipped_and_counted(
    trained: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = trained.prediction_log
    log.parent.mkdir(parents=True, exist_ok=True)
    frame = generate_batch(rows=1_200, seed=11)
    lines = frame.drop(columns=[TARGET]).to_json(orient="records", lines=True).splitlines()
    lines.insert(600, '{"half a record": ')
    lines.insert(700, "\x00\x01garbage")
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv(f"{ENV_PREFIX}MONITORING_SAMPLE_ROWS", "1000")
    first = monitoring_flow(retrain=False)
    assert first.skipped_lines == 2
    assert first.action != "too_few_rows" and first.summary.current_rows == 1_200
    # The read position moved past the bad lines: the next run judges only what is new.
    with log.open("a") as more:
        more.write(frame.head(3).drop(columns=[TARGET]).to_json(orient="records", lines=True))
    second = monitoring_flow(retrain=False)
    assert (second.action, second.skipped_lines) == ("too_few_rows", 0)


def test_concurrent_ingestion_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    """Four ingests at once (two of the same batch) share the GX project and the stores; they
    also start their own Prefect servers, the way four people would."""
    sources: list[Path] = []
    for seed in (21, 22, 23, 21):
        source = tmp_path / f"batch-{len(sources)}.csv"
        generate_batch(rows=2_000, seed=seed).to_csv(source, index=False)
        sources.append(source)
    running = [
        subprocess.Popen(
            [CLI, "ingest", "--source", str(source)],
            env=command_env(settings.project_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for source in sources
    ]
    outputs = [process.communicate(timeout=600) for process in running]
    for process, (stdout, stderr) in zip(running, outputs, strict=True):
        assert process.returncode == 0, stdout + stderr
    statuses = sorted(record["status"] for record in read_jsonl(settings.ingestion_log))
    assert statuses == ["duplicate", "validated", "validated", "validated"]
    assert len(list(settings.validated_dir.glob("*.parquet"))) == 3
    assert not list(settings.validated_dir.glob(".*partial"))


def test_kill_9_leaves_no_prefect_server_behind(settings: Settings) -> None:
    ingestion_flow(rows=2_000, seed=5)
    process = subprocess.Popen(
        [CLI, "train"],
        env=command_env(settings.project_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = wait_for_child(process.pid, "prefect")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{server}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(server), f"the Prefect server {server} outlived its command"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_child(parent: int, needle: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.split(")")[-1].split()[1]) == parent and needle in command:
                return int(entry.name)
        time.sleep(0.2)
    raise AssertionError(f"no {needle} child of {parent} within {timeout} s")


def test_a_run_left_running_by_a_dead_process_is_failed_next_time(trained: Settings) -> None:
    registry.connect(trained)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    experiment = mlflow.get_experiment_by_name(trained.experiment_name)
    assert experiment is not None
    tags = registry.process_tags() | {registry.OWNER_PID: dead}
    stale = MlflowClient().create_run(experiment.experiment_id, tags=tags).info.run_id
    live = MlflowClient().create_run(experiment.experiment_id, tags=registry.process_tags())
    ingestion_flow(rows=2_000, seed=6)
    training_flow()
    client = MlflowClient()
    assert client.get_run(stale).info.status == "FAILED"
    assert client.get_run(live.info.run_id).info.status == "RUNNING"  # this process is alive


def test_an_unexpected_failure_has_its_own_exit_code(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from {{ cookiecutter.package_name }} import status
    from {{ cookiecutter.package_name }}.cli import app

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(status, "collect_status", broken)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == UNEXPECTED_FAILURE


def test_reading_the_database_does_not_lock_it_for_writers(trained: Settings) -> None:
    """The checks open the database read-only: a run in progress can still write."""
    with sqlite3.connect(trained.local_tracking_db) as connection:
        connection.execute("BEGIN IMMEDIATE")
        assert cli(trained.project_dir, "status", "--json").returncode == 0
        connection.execute("ROLLBACK")
