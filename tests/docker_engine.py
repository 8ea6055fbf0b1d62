"""A Docker engine for the template's tests, and the base images a generated project needs.

CI machines here have Debian's `docker.io` but no running daemon and no reachable registry. So
the tests start their own `dockerd` (own socket, data root and exec root under a temp folder;
stopped and removed after), and every base image the Dockerfiles and compose.yaml pin that
cannot be pulled is replaced by a stand-in built from Debian packages, tagged with the exact
pinned name so the project's files are built and run unchanged. Each stand-in carries the label
`mlsd.stand-in`, which the project's Docker tests report.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

STAND_IN_LABEL = "mlsd.stand-in"
DEBIAN_MIRROR = "http://deb.debian.org/debian"

# postgres: the official image's entrypoint, reduced to what the stack uses: POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB, a data folder initialised on first start, password
# logins from the network, and postgres in the foreground as the postgres user.
POSTGRES_ENTRYPOINT = r"""#!/bin/sh
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password_file=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$password_file"
  chown postgres "$password_file"
  runuser -u postgres -- initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" \
    --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    runuser -u postgres -- pg_ctl --pgdata="$PGDATA" --wait --options="-c listen_addresses=''" start
    runuser -u postgres -- createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    runuser -u postgres -- pg_ctl --pgdata="$PGDATA" --wait --mode=fast stop
  fi
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*' "$@"
"""

POSTGRES_DOCKERFILE = """\
FROM {python_image}
RUN apt-get update && apt-get install --yes --no-install-recommends postgresql \\
    && rm -rf /var/lib/apt/lists/* \\
    && ln -s /usr/lib/postgresql/*/bin/* /usr/local/bin/ \\
    && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
LABEL {label}="postgres from Debian's postgresql package ({python_image} base)"
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["sh", "/usr/local/bin/docker-entrypoint.sh"]
"""

PREFECT_DOCKERFILE = """\
FROM {python_image}
COPY --from={uv_image} /uv /usr/local/bin/uv
COPY certs/ /usr/local/share/ca-certificates/extra/
COPY constraints.txt /tmp/
RUN update-ca-certificates
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_NATIVE_TLS=true \\
    UV_PYTHON_DOWNLOADS=never PATH=/opt/prefect/bin:$PATH
# The project's locked versions, as the official image pins its own: a newer FastAPI breaks it.
RUN uv venv /opt/prefect && uv pip install --python /opt/prefect/bin/python \\
    --no-cache --constraint /tmp/constraints.txt "prefect=={version}"
LABEL {label}="prefect {version} installed with uv on {python_image}"
CMD ["prefect", "version"]
"""

# redis: Debian's redis-server; compose.yaml gives the command line, as it would the official's.
REDIS_DOCKERFILE = """\
FROM {python_image}
RUN apt-get update && apt-get install --yes --no-install-recommends redis-server \\
    && rm -rf /var/lib/apt/lists/*
LABEL {label}="redis from Debian's redis-server package ({python_image} base)"
EXPOSE 6379
USER redis
CMD ["redis-server", "--protected-mode", "no"]
"""

UV_DOCKERFILE = """\
FROM scratch
COPY uv /uv
LABEL {label}="the uv binary that runs these tests ({version})"
"""


@dataclass
class Engine:
    """A reachable Docker daemon: `env` points the docker CLI at it."""

    env: dict[str, str]
    folder: Path | None = None  # set when these tests started the daemon
    process: subprocess.Popen[bytes] | None = None

    def docker(
        self, *args: str, timeout: int = 600, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def has_image(self, name: str) -> bool:
        return self.docker("image", "inspect", name).returncode == 0

    def stop(self) -> None:
        """Stop the daemon these tests started, and remove everything it stored."""
        if self.process is None or self.folder is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # dockerd unmounts its layers on a clean stop; anything still mounted is unmounted here
        # so the folder can go.
        mounts = Path("/proc/mounts").read_text().splitlines()
        for line in reversed(mounts):
            point = line.split()[1]
            if point.startswith(str(self.folder)):
                subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def reachable(env: Mapping[str, str]) -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            env=dict(env),
            capture_output=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def start_engine(env: Mapping[str, str]) -> Engine | str:
    """The daemon DOCKER_HOST already names, else one started here (as root, with Debian's
    dockerd); a string says why there is none."""
    if reachable(env):
        return Engine(dict(env))
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return "no Docker daemon is reachable and dockerd is not installed (apt install docker.io)"
    if os.geteuid() != 0:
        return "no Docker daemon is reachable, and starting one needs root"
    # The socket path must stay short (108 bytes), hence a folder of its own in /tmp.
    folder = Path(tempfile.mkdtemp(prefix="mlsd-docker-"))
    socket = folder / "docker.sock"
    # Niced, with every container it runs: the builds and the stack fill the gaps the other
    # suites running beside them leave, rather than slow them. The daemon keeps its own copy of
    # the log's descriptor.
    with (folder / "dockerd.log").open("wb") as log:
        process = subprocess.Popen(
            [
                "nice",
                "-n",
                "5",
                "dockerd",
                f"--host=unix://{socket}",
                f"--data-root={folder / 'data'}",
                f"--exec-root={folder / 'exec'}",
                f"--pidfile={folder / 'docker.pid'}",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    engine = Engine(dict(env) | {"DOCKER_HOST": f"unix://{socket}"}, folder, process)
    deadline = time.monotonic() + 60
    while not reachable(engine.env):
        if process.poll() is not None or time.monotonic() > deadline:
            engine.stop()
            return f"dockerd did not start:\n{(folder / 'dockerd.log').read_text()[-3000:]}"
        time.sleep(0.5)
    return engine


def pinned_images(project: Path) -> list[str]:
    """Every image the project's Dockerfiles build FROM and compose.yaml runs, in the order a
    stand-in needs them (python and uv first: the others are built on them)."""
    names: list[str] = []
    for dockerfile in sorted((project / "docker").glob("*.Dockerfile")):
        stages: set[str] = set()
        text = dockerfile.read_text()
        for image, stage in re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I):
            if image not in stages and image != "scratch":
                names.append(image)
            stages.add(stage)
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"].values()
    names += [service["image"] for service in services if "build" not in service]
    first = ("python:", "ghcr.io/astral-sh/uv:")
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda name: not name.startswith(first))


def provide_images(engine: Engine, project: Path, uv: str, folder: Path) -> dict[str, str]:
    """Each image in `pinned_images`: already there, pulled, or a stand-in built here; the
    answer says which, image by image."""
    provided: dict[str, str] = {}
    for name in pinned_images(project):
        if engine.has_image(name):
            provided[name] = "present"
            continue
        try:
            pulled = engine.docker("pull", name, timeout=120).returncode == 0
        except subprocess.TimeoutExpired:
            pulled = False
        if pulled:
            provided[name] = "pulled"
            continue
        started = time.perf_counter()
        context = folder / re.sub(r"\W+", "-", name)
        build_stand_in(engine, name, provided, uv, project, context)
        provided[name] = f"stand-in, built in {time.perf_counter() - started:.0f} s"
    return provided


def build_stand_in(
    engine: Engine, name: str, provided: Mapping[str, str], uv: str, project: Path, context: Path
) -> None:
    context.mkdir(parents=True, exist_ok=True)
    python_image = next((image for image in provided if image.startswith("python:")), "")
    uv_image = next((image for image in provided if image.startswith("ghcr.io/astral-sh/uv:")), "")
    repository, _, tag = name.rpartition(":")
    if repository == "python":
        import_debian_python(engine, name, context)
        return
    if repository == "ghcr.io/astral-sh/uv":
        version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
        if version.stdout.split()[1] != tag:
            raise RuntimeError(f"{name}: the uv here is {version.stdout.strip()}, not {tag}")
        shutil.copy2(uv, context / "uv")
        dockerfile = UV_DOCKERFILE.format(label=STAND_IN_LABEL, version=tag)
    elif repository == "postgres":
        (context / "entrypoint.sh").write_text(POSTGRES_ENTRYPOINT)
        dockerfile = POSTGRES_DOCKERFILE.format(label=STAND_IN_LABEL, python_image=python_image)
    elif repository == "redis":
        dockerfile = REDIS_DOCKERFILE.format(label=STAND_IN_LABEL, python_image=python_image)
    elif repository == "prefecthq/prefect":
        certs = context / "certs"
        certs.mkdir(exist_ok=True)
        bundle = os.environ.get("SSL_CERT_FILE")
        if bundle and Path(bundle).is_file():
            shutil.copy(bundle, certs / "machine-bundle.crt")
        locked = subprocess.run(
            [uv, "export", "--locked", "--no-default-groups", "--group", "pipeline",
             "--no-emit-project", "--no-hashes", "--quiet"],
            cwd=project, capture_output=True, text=True, check=True,
        )  # fmt: skip
        (context / "constraints.txt").write_text(locked.stdout)
        dockerfile = PREFECT_DOCKERFILE.format(
            label=STAND_IN_LABEL,
            python_image=python_image,
            uv_image=uv_image,
            version=tag.split("-")[0],
        )
    else:
        raise RuntimeError(f"{name} cannot be pulled, and there is no stand-in recipe for it")
    if not python_image and repository in {"postgres", "redis", "prefecthq/prefect"}:
        raise RuntimeError(f"{name}: its stand-in is built on the python image, which is missing")
    (context / "Dockerfile").write_text(dockerfile)
    result = engine.docker("build", "--tag", name, str(context), timeout=900, cwd=context)
    if result.returncode != 0:
        output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        raise RuntimeError(f"stand-in {name} did not build:\n{output}")


def import_debian_python(engine: Engine, name: str, context: Path) -> None:
    """python:X-slim-bookworm from Debian bookworm's own python3 (3.11): a minimal root made by
    debootstrap, imported as an image, with python where the official image has it."""
    version = name.split(":")[1].split("-")[0]
    if version != "3.11":
        raise RuntimeError(f"{name}: Debian bookworm's python3 is 3.11, not {version}")
    root = context / "root"
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            str(root),
            DEBIAN_MIRROR,
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    for link in ("python", "python3", f"python{version}"):
        target = root / "usr" / "local" / "bin" / link
        target.unlink(missing_ok=True)
        target.symlink_to("/usr/bin/python3")
    archive = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        [
            "docker",
            "import",
            "--change",
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
            "--change",
            'CMD ["python3"]',
            "--change",
            f'LABEL {STAND_IN_LABEL}="debootstrap of Debian bookworm with its python3"',
            "-",
            name,
        ],
        stdin=archive.stdout,
        env=engine.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert archive.stdout is not None
    archive.stdout.close()
    archive.wait()
    shutil.rmtree(root, ignore_errors=True)
    if imported.returncode != 0:
        raise RuntimeError(f"{name}: docker import failed: {imported.stderr}")
