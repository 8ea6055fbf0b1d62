"""Child processes and the servers this package starts (the service, Prefect, MLflow): started
with argument lists, on free 127.0.0.1 ports, dying with the command that started them; and a
small JSON client for their HTTP APIs. Every step may use it; it imports no step."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess  # nosec B404 # starts this package's own servers, with argument lists
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .seeds import keep_seed, plant_seed, seed_path
from .settings import ENV_PREFIX, Settings

STARTUP_SECONDS = 90.0
PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass(frozen=True)
class LocalServer:
    url: str
    process: subprocess.Popen[bytes]
    health_path: str = "/livez"
    # Called once the server answers (or failed to): e.g. to release a start-up lock.
    when_up: Callable[[], None] | None = None

    def wait_until_up(self, timeout: float = STARTUP_SECONDS) -> LocalServer:
        """Return once the health path answers (any status: readiness is for the caller)."""
        try:
            wait_until_up(self.url + self.health_path, self.process, timeout)
        finally:
            if self.when_up is not None:
                self.when_up()
        return self

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def process_family(pid: int) -> set[int]:
    """A process and all its descendants, from /proc (Linux): a server's workers included."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found = {pid}
    while grown := {child for child, parent in parents.items() if parent in found} - found:
        found |= grown
    return found


def signal_family(pid: int, signum: int) -> None:
    """Send `signum` to a process and its descendants (SIGSTOP/SIGCONT pause a whole server)."""
    for member in process_family(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signum)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def web_url(url: str) -> str:
    """`url`, if it is http(s): urllib would also open file: and ftp: URLs from a setting."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


def http_json(
    url: str,
    body: Any = None,
    raw: bytes | None = None,
    timeout: float = 30,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """POST `body` as JSON (or `raw` bytes; GET when neither), with `headers` (credentials);
    the status and the decoded body (text if not JSON). An HTTP error status is returned, not
    raised: callers check it."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        web_url(url),
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
        method="GET" if data is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310 # http(s) only
            payload, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        payload, status = error.read(), error.code
    try:
        return status, json.loads(payload)
    except ValueError:  # BentoML's health endpoints answer in plain text
        return status, payload.decode()


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(web_url(url), timeout=2):  # nosec B310 # http(s) only
                return
        except urllib.error.HTTPError:
            return  # it answers; readiness (a loaded model) is for the caller to check
        except OSError:
            time.sleep(0.3)
    process.kill()
    process.wait()
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def die_with_parent(death_signal: int = signal.SIGTERM) -> Callable[[], None]:
    """For a child, before exec: the kernel sends it `death_signal` when its parent dies,
    however the parent died (`kill -9` included), so no server outlives the command that
    started it."""

    def set_death_signal() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, death_signal)

    return set_death_signal


def start_process(
    command: Sequence[str],
    env: Mapping[str, str],
    log: Path | None = None,
    death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a server process, its output appended to `log` (or dropped); it gets
    `death_signal` when we die."""
    preexec = die_with_parent(death_signal)
    if log is None:
        return subprocess.Popen(  # nosec B603 # an argument list this package builds
            list(command),
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=preexec,
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        return subprocess.Popen(  # nosec B603 # an argument list this package builds
            list(command), env=dict(env), stdout=output, stderr=output, preexec_fn=preexec
        )


def child_environment(project_dir: Path, **extra: str) -> dict[str, str]:
    """The environment a process started for `project_dir` gets: this one without the
    project's settings (each process gets the ones it needs), the tools kept inside the project
    and offline."""
    from .runtime import tool_environment

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(ENV_PREFIX) and key != "PREFECT_API_URL"
    }
    env |= tool_environment(Settings(project_dir=project_dir))
    return env | {f"{ENV_PREFIX}PROJECT_DIR": str(project_dir)} | extra


def start_prefect_server(settings: Settings) -> LocalServer | None:
    """A Prefect server for this command, started before Prefect is imported, so its start-up
    overlaps the imports instead of following them (the temporary server Prefect would start
    on the first flow call costs ~10 s), and stopped at exit; it dies with this process even
    on `kill -9`. None when a standing server is configured."""
    if settings.prefect_api_url:
        return None
    port = free_port()
    command = [
        sys.executable, "-m", "prefect", "server", "start",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    # Servers that start together on one new database both migrate it, and one crashes
    # ("duplicate column name"): concurrent commands start theirs in turn, each holding this
    # lock until its server answers (the kernel drops it if the command dies first).
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    start_lock = (settings.prefect_home / ".server-start.lock").open("a")
    fcntl.flock(start_lock, fcntl.LOCK_EX)
    database, seed = settings.prefect_home / "prefect.db", seed_path("prefect")
    new_database = not plant_seed(database, seed) and not database.exists()

    def when_up() -> None:
        if new_database:
            keep_seed(database, seed)
        start_lock.close()

    log = settings.prefect_home / "server.log"
    process = start_process(command, os.environ, log)
    server = LocalServer(
        f"http://127.0.0.1:{port}", process, health_path="/api/health", when_up=when_up
    )
    os.environ["PREFECT_API_URL"] = f"{server.url}/api"  # read when Prefect is imported
    # At exit, and registered before Prefect is imported: exit handlers run last-in first-out,
    # so Prefect's own (which send its last logs to this server) run first.
    atexit.register(server.stop)
    return server
