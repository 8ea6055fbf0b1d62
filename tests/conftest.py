from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cookiecutter.main import cookiecutter

from .docker_engine import provide_images, start_engine

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_OPTIONS: dict[str, Any] = json.loads((REPO / "cookiecutter.json").read_text())
DEFAULT_SLUG = "ad-click-prediction"
DEFAULT_PACKAGE = "ad_click_prediction"


def bake(output_dir: Path, template: Path = REPO, **answers: str) -> Path:
    """Generate a project from `template` without prompts; `answers` override
    cookiecutter.json's defaults.

    cookiecutter's own state (replay files, clones) goes beside the output, not in the home dir.
    """
    state = output_dir.parent / f".cookiecutter-{output_dir.name}"
    config = state / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"replay_dir: {state / 'replay'}\ncookiecutters_dir: {state / 'clones'}\n")
    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            config_file=str(config),
        )
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for running a generated project: none of the caller's tool settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        # MAKE*: under `make test`, a nested make would otherwise inherit the outer one's state.
        if not key.startswith(("MLSD_", "PREFECT_", "VIRTUAL_ENV", "MAKE", "MFLAGS"))
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def run(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: int = 900,
    expect_code: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test, with its output, unless it exits with `expect_code`."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != expect_code:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}, expected {expect_code}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


# The skips a generated project's suite may report, each for a system tool the machine lacks,
# with the command that installs it. CI installs them all (scripts/install-system-packages.sh),
# so there none is accepted; elsewhere exactly these are, and the run ends by listing them.
SYSTEM_TOOL_SKIPS = (
    "redis-server is not installed (sudo apt-get install redis-server)",
    "running as root without setpriv: cannot test read-only stores (sudo apt-get install "
    "util-linux)",
)
SKIPPED_IN_PROJECTS: list[str] = []


def check_suite_summary(output: str, name: str, deselected: bool | None = None) -> int:
    """A generated project's pytest run passed: its closing line is `N passed`, with skips
    only for a missing system tool (SYSTEM_TOOL_SKIPS, and never under CI) and deselected
    tests only when `deselected` says so (None: either). Returns how many tests it ran (passed
    and skipped)."""
    summary = re.findall(r"^=+ (.*) in [\d.]+s.* =+$", output, flags=re.M)
    closing = summary[-1] if summary else ""
    shape = re.fullmatch(r"(\d+) passed(, (\d+) skipped)?(, \d+ deselected)?", closing)
    assert shape is not None, f"{name}: {closing or 'no summary'}\n{output[-4000:]}"
    if deselected is not None:
        assert bool(shape.group(4)) == deselected, f"{name}: {closing}"
    skipped = re.findall(r"^SKIPPED \[\d+\] (\S+): (.*)$", output, flags=re.M)
    # pytest's -ra lists why each was skipped: a count without reasons cannot be judged.
    assert skipped or not shape.group(3), f"{name}: {closing}, and no reasons listed"
    for where, reason in skipped:
        assert reason in SYSTEM_TOOL_SKIPS, f"{name}: an unexpected skip at {where}: {reason}"
        assert not os.environ.get("CI"), f"{name}: CI installs every system tool: {reason}"
        SKIPPED_IN_PROJECTS.append(f"{name}: {where}: {reason}")
    return int(shape.group(1)) + int(shape.group(3) or 0)


# Where a session's time went: each background run's steps, from the session's start, and how
# busy the machine's cores were. The runs overlap on two cores, so what to shorten (to keep
# `make test` inside its budget as tasks join) is what ends last while the cores are busy.
SESSION_START = time.monotonic()
TIMELINE: list[tuple[str, float, float]] = []


@contextmanager
def timed(name: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        TIMELINE.append((name, start - SESSION_START, time.monotonic() - SESSION_START))


class CoreSampler:
    """The share of the cores that were busy, per `every` seconds, from /proc/stat."""

    def __init__(self, every: float = 60.0) -> None:
        self.every, self.shares = every, list[float]()
        # A daemon: it ends with the session's process.
        threading.Thread(target=self._run, name="cores", daemon=True).start()

    @staticmethod
    def _ticks() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle and waiting for I/O
        return sum(fields) - idle, sum(fields)

    def _run(self) -> None:
        busy, total = self._ticks()
        while True:
            time.sleep(self.every)
            now_busy, now_total = self._ticks()
            self.shares.append((now_busy - busy) / max(now_total - total, 1))
            busy, total = now_busy, now_total


CORES: CoreSampler | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global CORES
    if Path("/proc/stat").is_file():
        CORES = CoreSampler()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The skips inside the generated projects' suites, after pytest's own (-ra) list; then
    where the time went, when a project ran."""
    if SKIPPED_IN_PROJECTS:
        terminalreporter.section("skipped inside the generated projects (install and rerun)")
        for line in SKIPPED_IN_PROJECTS:
            terminalreporter.line(line)
    if TIMELINE:
        terminalreporter.section("where the time went (minutes from the session's start)")
        for name, start, end in sorted(TIMELINE, key=lambda row: row[1]):
            terminalreporter.line(
                f"{name:<28} {start / 60:6.1f} -> {end / 60:6.1f}  ({(end - start) / 60:.1f})"
            )
        if CORES is not None and CORES.shares:
            shares = " ".join(f"{share:.0%}" for share in CORES.shares)
            terminalreporter.line(f"cores busy, each minute: {shares}")


@pytest.fixture(scope="session")
def uv() -> str:
    """The uv that runs these tests (`uv run` exports it as UV), else one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    if not Path(found).is_file():
        pytest.fail("uv not found: run the tests with `make test`, which bootstraps it")
    return found


# The projects baked besides the default, each run for real in the background while the default
# project's tests run (two cores: the runs overlap): every other task the template offers, and
# the default task with the feature store. Each runs the tests its answers change.
OTHER_TASKS = list(TEMPLATE_OPTIONS["problem_type"][1:])
# What the default project's suite runs once for all tasks, because it is the same code
# whatever the task: the servers family (the stack as local processes; the docker family runs
# once too, DockerRun), the failure modes of processes and stores (concurrent ingestion, kill -9,
# corrupt and truncated files), ingestion's command line, Dask's equivalence with one process,
# the column types' conformance, and modules that know nothing of a task (settings, secrets,
# progress lines, the migrated stores, the prediction log's files, the deployment files).
TASK_NEUTRAL_FILES = (
    "tests/deploy/test_stack.py",
    "tests/e2e/test_failure_modes.py",
    "tests/e2e/test_ingestion_flow.py",
    "tests/e2e/test_dask.py",
    "tests/code/test_column_types.py",
    "tests/code/test_settings.py",
    "tests/code/test_credentials.py",
    "tests/code/test_progress.py",
    "tests/code/test_seeds.py",
    "tests/code/test_prediction_log.py",
    "tests/deploy/test_deployment_files.py",
)
# The service's trust under a hung registry, a full disk and a missing token (a model file's
# trust stays per task: the task's model is what gets loaded).
SERVED_TRUST = (
    "test_reload_needs_the_token_and_a_failed_gate_is_not_served",
    "test_a_hung_registry_does_not_stop_serving",
    "test_a_full_disk_loses_log_lines_not_predictions",
)
# And the tests of the service's, the registry's and the commands' own behaviour (a reload, no
# champion, a body that is not JSON or too large, the docs page, a crash mid-run, exit codes),
# which answer the same for every task's model.
TASK_NEUTRAL_TESTS = {
    "tests/e2e/test_serving.py": (
        "test_an_empty_or_oversized_batch_gets_400",
        "test_malformed_json_gets_400",
        "test_a_new_champion_is_served_after_reload",
        "test_without_a_champion_the_service_is_up_but_not_ready",
        "test_a_body_that_is_not_json_gets_415",
        "test_a_body_over_the_limit_gets_413_whether_declared_or_streamed",
        "test_the_api_docs_page_loads_nothing_from_the_internet",
        "test_bad_requests_are_one_warning_line_each",
        "test_a_champion_that_cannot_load_is_named_in_the_503_and_the_log",
    ),
    "tests/e2e/test_training_flow.py": (
        "test_status_reads_the_registry_without_the_pipelines_tools",
        "test_status_reads_a_local_registry_as_mlflow_does",
        "test_a_crash_mid_run_leaves_the_aliases_as_they_were",
        "test_train_command_reports_the_outcome_and_missing_data",
    ),
    "tests/e2e/test_monitoring_flow.py": (
        "test_retraining_can_be_turned_off",
        "test_monitor_cli_without_a_champion_exits_2",
        "test_monitor_cli_names_a_missing_feature_column",
    ),
    "tests/e2e/test_labels_flow.py": (
        "test_labels_cli_exit_codes",
        "test_a_corrupt_metrics_table_is_rebuilt_and_a_corrupt_labels_store_is_named",
    ),
    "tests/e2e/test_trust.py": SERVED_TRUST,
}
TASK_NEUTRAL_IDS = [
    f"{path}::{name}" for path, names in TASK_NEUTRAL_TESTS.items() for name in names
]
# A project's own suite in two parts: what its task changes, which every task's project runs,
# and the rest (the servers family is marked; a test so marked outside the files above would be
# in neither part, and the default project's count of both parts against its whole suite says
# so). The default project runs both side by side (DefaultSuite). Each session keeps its
# temporary files in its own folder: a pytest session that starts uses /tmp/pytest-of-<user>
# and resets its mode, taking away the traversal the servers family's PostgreSQL user needs.
TASK_TESTS = " ".join(
    [
        "-m 'not servers and not docker'",
        *(f"--ignore={path}" for path in TASK_NEUTRAL_FILES),
        *(f"--deselect {node}" for node in TASK_NEUTRAL_IDS),
    ]
)
TASK_NEUTRAL_SELECTION = " ".join(["-m 'not docker'", *TASK_NEUTRAL_FILES, *TASK_NEUTRAL_IDS])
# Regression's request and answer have the default task's shapes (one score; its contract's
# column types are a subset of the default's): the fuzz run finds nothing new there. Ranking's
# `/rank` and multiclass's answer are fuzzed in their projects.
SAME_SHAPES_AS_DEFAULT = {"regression"}
FUZZ_TEST = "tests/e2e/test_serving.py::test_the_api_passes_a_schemathesis_fuzz_run"


def task_tests(task: str) -> str:
    if task in SAME_SHAPES_AS_DEFAULT:
        return f"{TASK_TESTS} --deselect {FUZZ_TEST}"
    return TASK_TESTS


# With the feature store, the project's suite runs with it off (the default project's code)
# except its own tests: those, and the contract's and the settings' (project.env).
FEATURE_STORE_TESTS = (
    "tests/e2e/test_feature_store.py tests/code/test_contract.py tests/code/test_settings.py"
)
VARIANTS: dict[str, tuple[dict[str, str], str]] = {
    **{task: ({"problem_type": task}, task_tests(task)) for task in OTHER_TASKS},
    "feast": ({"feature_store": "feast"}, FEATURE_STORE_TESTS),
}
DOCKER_VARIANT = "feast"  # the project whose docker family runs (DockerRun)


def make_step(
    project: Path,
    target: str,
    uv: str,
    pytest_addopts: str,
    timeout: int,
    run_name: str,
    log_suffix: str = "",
) -> subprocess.CompletedProcess[str]:
    """`make target` in a background run's project, timed on the session's timeline; its
    output is kept beside the project (`make-<target>[-<suffix>].log`, the slowest tests at its
    end) for a look after the session."""
    with timed(f"{run_name}: make {target}"):
        result = subprocess.run(
            ["make", target, f"UV={uv}"],
            cwd=project,
            env=clean_env(PYTEST_ADDOPTS=pytest_addopts),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    log = f"make-{target}-{log_suffix}.log" if log_suffix else f"make-{target}.log"
    (project.parent / log).write_text(result.stdout)
    return result


class TaskRun:
    """One variant's project: baked, installed, linted, its own tests (`tests`: pytest
    arguments) and `make all`, in order, in a thread; each step's result is kept for the tests
    that read it."""

    STEPS = (("lint", 600), ("test", 3_000), ("all", 900))

    def __init__(
        self, task: str, folder: Path, uv: str, answers: dict[str, str], tests: str
    ) -> None:
        self.task, self.uv = task, uv
        # The slowest tests are listed in the output this session keeps (make-test.log).
        self.pytest_addopts = f"{tests} --basetemp={folder}/pytest-tmp --durations=25"
        # Baked here, in the calling thread: cookiecutter changes the process's working
        # directory while it renders, so two bakes must never overlap.
        self.project = bake(folder, **answers)
        self.results: dict[str, subprocess.CompletedProcess[str] | str] = {}
        self.installed = threading.Event()  # set once `make setup` has ended, however it did
        self._thread = threading.Thread(target=self._run, name=f"task-{task}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            # `make setup` compiles every module's bytecode up front. Skipping it is not a saving
            # where PYTHONDONTWRITEBYTECODE is set (as on CI's machines): every process the
            # tests start would compile what it imports again, and the session took longer.
            steps = (("setup", 900), *self.STEPS)
            for target, timeout in steps:
                result = make_step(
                    self.project, target, self.uv, self.pytest_addopts, timeout, self.task
                )
                self.results[target] = result
                if target == "setup":
                    self.installed.set()
                    if result.returncode != 0:
                        return
        except Exception as error:  # reported by the test that reads the step
            self.results["error"] = f"{type(error).__name__}: {error}"
        finally:
            self.installed.set()

    def result(self, target: str) -> subprocess.CompletedProcess[str]:
        """The finished step `target`; fails the test with the output when it failed."""
        self._thread.join(timeout=3_600)
        if "error" in self.results:
            pytest.fail(f"{self.task}: {self.results['error']}")
        found = self.results.get(target)
        if not isinstance(found, subprocess.CompletedProcess):
            pytest.fail(f"{self.task}: `make {target}` did not run ({sorted(self.results)} did)")
        if found.returncode != 0:
            pytest.fail(
                f"{self.task}: make {target} exited {found.returncode}\n--- stdout ---\n"
                f"{found.stdout[-6000:]}\n--- stderr ---\n{found.stderr[-6000:]}"
            )
        return found


@pytest.fixture(scope="session")
def other_tasks(
    tmp_path_factory: pytest.TempPathFactory, uv: str, docker_run: DockerRun
) -> dict[str, TaskRun]:
    """Started by the default project's tests (so the runs overlap), read by test_other_tasks.
    The docker family runs on the feature-store project once it is installed: its images and
    stack are the default project's plus Feast and Redis, so one family covers both."""
    runs = {
        name: TaskRun(name, tmp_path_factory.mktemp(name), uv, answers, tests)
        for name, (answers, tests) in VARIANTS.items()
    }
    docker_run.attach(runs[DOCKER_VARIANT].project, runs[DOCKER_VARIANT].installed)
    return runs


class DockerRun:
    """A project's docker family (its tests/deploy/test_docker.py), in a thread beside
    everything else: a Docker engine (the one DOCKER_HOST names, else a dockerd started here),
    stand-ins for the base images no registry serves (docker_engine.py), then the family's own
    pytest run once the project is installed; the engine it started is stopped after."""

    FAMILY_TIMEOUT = 2_400

    def __init__(self, folder: Path, uv: str) -> None:
        self.folder, self.uv = folder, uv
        self.project: Path | None = None
        self.baked, self.installed = threading.Event(), threading.Event()
        self.engine_note = ""  # why there is no engine, when there is none
        self.images: dict[str, str] = {}
        self.result: subprocess.CompletedProcess[str] | None = None
        self.family: subprocess.Popen[str] | None = None
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="docker", daemon=True)
        self._thread.start()

    def attach(self, project: Path, installed: threading.Event) -> None:
        """The project's files exist (the base images they pin can be provided); its family
        runs once `installed` is set."""
        self.project, self.installed = project, installed
        self.baked.set()

    def _run(self) -> None:
        engine = start_engine(clean_env())
        if isinstance(engine, str):
            self.engine_note = engine
            return
        try:
            self.baked.wait()
            assert self.project is not None
            with timed("docker: stand-in images"):
                self.images = provide_images(
                    engine, self.project, self.uv, self.folder / "stand-ins"
                )
            self.installed.wait()
            # The documented CA option (docker/certs/): this machine's bundle, which holds the
            # certificate of the proxy the containers reach the package index through.
            bundle = os.environ.get("SSL_CERT_FILE")
            if bundle and Path(bundle).is_file():
                shutil.copy(bundle, self.project / "docker" / "certs" / "machine-bundle.crt")
            family = ["pytest", "-p", "no:cacheprovider", "-m", "docker"]
            family.append(f"--basetemp={self.folder / 'pytest-tmp'}")  # see TaskRun
            command = ["nice", "-n", "5", self.uv, "run", "--locked", *family]  # as dockerd is
            self.family = subprocess.Popen(
                command,
                cwd=self.project,
                env=engine.env | {"UV_PYTHON_DOWNLOADS": "never"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            with timed("docker: family"):
                stdout, stderr = self.family.communicate(timeout=self.FAMILY_TIMEOUT)
            self.result = subprocess.CompletedProcess(
                command, self.family.returncode, stdout, stderr
            )
        except Exception as error:  # reported by the test that reads the run
            self.error = f"{type(error).__name__}: {error}"
        finally:
            engine.stop()

    def wait(self) -> None:
        self._thread.join(timeout=self.FAMILY_TIMEOUT + 900)

    def stop(self) -> None:
        """End a family still running (a session cut short): Ctrl-C lets its fixtures bring the
        stack down; then the engine this run started stops with the thread."""
        self.baked.set()
        self.installed.set()
        if self.family is not None and self.family.poll() is None:
            self.family.send_signal(signal.SIGINT)
        self._thread.join(timeout=180)
        if self.family is not None and self.family.poll() is None:
            self.family.kill()
        self._thread.join(timeout=120)


@pytest.fixture(scope="session")
def docker_run(tmp_path_factory: pytest.TempPathFactory, uv: str) -> Iterator[DockerRun]:
    """Started first (the engine and stand-in images take a while), read by test_other_tasks."""
    started = DockerRun(tmp_path_factory.mktemp("docker"), uv)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, uv: str) -> Path:
    """The default project, baked and installed from its lock file (test_default_project.py,
    test_loop_pages.py)."""
    baked = bake(tmp_path_factory.mktemp("default"))
    with timed("default: make setup"):
        run(["make", "setup", f"UV={uv}"], cwd=baked)
    return baked


class DefaultSuite:
    """The default project's own suite (the docker family aside: DockerRun) in the background,
    its two parts side by side (TASK_TESTS and TASK_NEUTRAL_SELECTION): one pytest session
    alone would leave a core idle once the other projects are done. Read by
    test_generated_project_tests_pass; `make all` runs after it (closed_loop)."""

    PARTS: ClassVar[dict[str, str]] = {"task": TASK_TESTS, "task-neutral": TASK_NEUTRAL_SELECTION}
    TIMEOUT = 3_000

    def __init__(self, project: Path, uv: str) -> None:
        self.project, self.uv = project, uv
        self.results: dict[str, subprocess.CompletedProcess[str] | str] = {}
        self._threads = [
            threading.Thread(target=self._run, args=(part,), name=f"default-{part}", daemon=True)
            for part in self.PARTS
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, part: str) -> None:
        folder = self.project.parent
        # No pytest cache in the project: its README.md would be one more README the project's
        # own tests read, and the whole suite's count would no longer be the parts' sum.
        options = (
            f"{self.PARTS[part]} -p no:cacheprovider --basetemp={folder / f'pytest-{part}'} "
            "--durations=25"
        )
        try:
            self.results[part] = make_step(
                self.project, "test", self.uv, options, self.TIMEOUT, f"default ({part})", part
            )
        except Exception as error:  # reported by the test that reads the part
            self.results[part] = f"{type(error).__name__}: {error}"

    def wait(self) -> dict[str, subprocess.CompletedProcess[str] | str]:
        for thread in self._threads:
            thread.join(timeout=self.TIMEOUT + 600)
        return self.results


@pytest.fixture(scope="session")
def default_suite(project: Path, uv: str) -> DefaultSuite:
    return DefaultSuite(project, uv)


@pytest.fixture(scope="session", autouse=True)
def background_runs(request: pytest.FixtureRequest) -> None:
    """Every project's run starts before the first test, when the session holds a test that
    reads one: the tests that need no installed project (bakes, hooks, the update path) then
    run beside them instead of before them."""
    items = request.session.items
    if any(item.get_closest_marker("slow") for item in items):
        request.getfixturevalue("other_tasks")
    if any("project" in getattr(item, "fixturenames", ()) for item in items):
        request.getfixturevalue("default_suite")


# The session's order: the tests that need no installed project first (the background runs go
# on meanwhile), then those that read the default project, then those that read the others.
MODULE_ORDER = (
    "test_bake",
    "test_hooks",
    "test_suite_summary",
    "test_edited_project_update",
    "test_default_project",
    "test_loop_pages",
    "test_other_tasks",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def position(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
        return MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)

    items.sort(key=position)  # stable: each module keeps its own order


@pytest.fixture(scope="session")
def closed_loop(
    project: Path, uv: str, default_suite: DefaultSuite, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, dict[str, str]]:
    """`make all` once, for real, with HOME pointed at an empty folder, after the project's own
    suite: its output, that HOME and the environment it ran with."""
    default_suite.wait()
    home = tmp_path_factory.mktemp("home")
    cache = run([uv, "cache", "dir"], cwd=project).stdout.strip()
    env = clean_env(HOME=str(home), UV_CACHE_DIR=cache, XDG_CACHE_HOME="", XDG_CONFIG_HOME="")
    with timed("default: make all"):
        loop = run(["make", "all", f"UV={uv}"], cwd=project, env=env).stdout
    return loop, home, env
