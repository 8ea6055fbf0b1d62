"""Soak: the service at a fixed request rate for a long time, its champion read from a real MLflow
server, optionally paused (SIGSTOP, the server and its workers) part-way through.

It prints, each minute and at the end: requests sent and their statuses (anything but 200 is an
error), the service's resident memory (the BentoML processes together) and open files, and the
prediction log's size on disk against its bound (segments of MLSD_PREDICTION_LOG_MAX_MB, kept
MLSD_PREDICTION_LOG_KEEP_FILES; small here so rotation and retention happen within the run).

    python bench/soak.py                                # 30 min at 100 requests/s
    python bench/soak.py --minutes 30 --pause 90        # the registry paused for 90 s at minute 2
    python bench/soak.py --minutes 3 --rate 100 --pause 90 --log-max-mb 1 --keep-files 3

An open loop: a request leaves every 1/rate s whatever the last one did, as traffic does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from harness import project_environment

WARM_UP_SECONDS = 5


def resident_mb(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def open_files(pids: set[int]) -> int:
    count = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            count += sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
    return count


def log_bytes(log: Path) -> int:
    return sum(path.stat().st_size for path in log.parent.glob(f"{log.stem}*{log.suffix}"))


async def soak(
    url: str, bodies: list[bytes], rate: float, seconds: float, report: Any
) -> Counter[str]:
    statuses: Counter[str] = Counter()
    pending: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def send(body: bytes) -> None:
            try:
                async with session.post(
                    f"{url}/predict", data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                statuses[type(error).__name__] += 1

        started = time.monotonic()
        sent, next_report = 0, 60.0
        while (elapsed := time.monotonic() - started) < seconds:
            due = started + sent / rate
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            task = asyncio.create_task(send(bodies[sent % len(bodies)]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
            if elapsed >= next_report:
                report(elapsed, statuses)
                next_report += 60
        await asyncio.gather(*pending)
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=100, help="requests per second")
    parser.add_argument("--records", type=int, default=1, help="records per request")
    parser.add_argument("--pause", type=float, default=0, help="seconds the registry is paused")
    parser.add_argument("--pause-at", type=float, default=120, help="seconds into the soak")
    parser.add_argument("--log-max-mb", type=int, default=5)
    parser.add_argument("--keep-files", type=int, default=3)
    args = parser.parse_args()

    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
    from {{ cookiecutter.package_name }}.processes import (
        child_environment,
        http_json,
        process_family,
        signal_family,
    )
    from {{ cookiecutter.package_name }}.serving.local import request_records, start_service
    from {{ cookiecutter.package_name }}.settings import Settings
    from {{ cookiecutter.package_name }}.stack import start_mlflow_server

    with tempfile.TemporaryDirectory(prefix="mlsd-soak-") as directory:
        project = Path(directory)
        env = project_environment(directory)
        (project / "server").mkdir()
        server = start_mlflow_server(
            project / "server", f"sqlite:///{project / 'server.db'}", child_environment(project)
        )
        try:
            server.wait_until_up()
            train = (
                "from {{ cookiecutter.package_name }}.data.flow import ingestion_flow; "
                "from {{ cookiecutter.package_name }}.training.flow import training_flow; "
                "ingestion_flow(rows=20_000, seed=1); assert training_flow().decision.promote"
            )
            subprocess.run(
                [sys.executable, "-c", train],
                env=env | {"MLSD_MLFLOW_TRACKING_URI": server.url},
                check=True,
                capture_output=True,
            )
            settings = {
                "MLSD_MLFLOW_TRACKING_URI": server.url,
                "MLSD_CHAMPION_CHECK_SECONDS": "5",
                "MLSD_PREDICTION_LOG_MAX_MB": str(args.log_max_mb),
                "MLSD_PREDICTION_LOG_KEEP_FILES": str(args.keep_files),
            }
            service = start_service(project, log=project / "service.log", settings=settings)
            try:
                contract = load_contract(Settings(project_dir=project).contract_file)
                frame = generate_batch(rows=max(args.records, 1) * 50, seed=7)
                records = request_records(frame, contract)
                bodies = [
                    json.dumps({"records": records[i : i + args.records]}).encode()
                    for i in range(0, len(records) - args.records + 1, args.records)
                ]
                log = Settings(project_dir=project).prediction_log
                bound = (args.keep_files + 1) * args.log_max_mb * 1_000_000
                service_pids = process_family(service.process.pid)
                time.sleep(WARM_UP_SECONDS)
                start_rss = resident_mb(service_pids)

                def report(elapsed: float, statuses: Counter[str]) -> None:
                    pids = process_family(service.process.pid)
                    print(
                        f"{elapsed / 60:5.1f} min  sent {sum(statuses.values()):>8,}  "
                        f"non-200 {sum(n for s, n in statuses.items() if s != '200'):>5}  "
                        f"RSS {resident_mb(pids):7.1f} MB  fds {open_files(pids):4}  "
                        f"log {log_bytes(log) / 1e6:7.2f} MB (bound {bound / 1e6:.0f} MB)",
                        flush=True,
                    )

                async def run() -> Counter[str]:
                    soaking = asyncio.create_task(
                        soak(service.url, bodies, args.rate, args.minutes * 60, report)
                    )
                    if args.pause:
                        await asyncio.sleep(args.pause_at)
                        signal_family(server.process.pid, signal.SIGSTOP)
                        print(f"registry paused at {args.pause_at:.0f} s", flush=True)
                        await asyncio.sleep(args.pause / 2)
                        _, ready = http_json(f"{service.url}/readyz")
                        print(f"readiness while paused: {ready}", flush=True)
                        await asyncio.sleep(args.pause / 2)
                        signal_family(server.process.pid, signal.SIGCONT)
                        print(f"registry resumed after {args.pause:.0f} s", flush=True)
                    return await soaking

                statuses = asyncio.run(run())
                service_log = (project / "service.log").read_text()
                said = [line for line in service_log.splitlines() if "registry" in line]
                end_rss = resident_mb(process_family(service.process.pid))
                _, model = http_json(f"{service.url}/model")
            finally:
                service.stop()
        finally:
            signal_family(server.process.pid, signal.SIGCONT)
            server.stop()
        minutes = args.minutes
        non_200 = sum(n for s, n in statuses.items() if s != "200")
        total = sum(statuses.values())
        print(f"\n{total:,} requests in {minutes:g} min at {args.rate:g}/s: {non_200} not 200")
        print(f"statuses: {dict(statuses)}")
        growth = (end_rss - start_rss) / minutes
        print(f"RSS {start_rss:.1f} -> {end_rss:.1f} MB ({growth:+.2f} MB/min)")
        kept, lost = log_bytes(log) / 1e6, model["prediction_log"]["lost_lines"]
        print(f"prediction log kept {kept:.2f} MB of a {bound / 1e6:.0f} MB bound; lost {lost}")
        print(f"service log: {service_log.count('Traceback')} tracebacks")
        if args.pause:
            print(f"registry paused {args.pause:g} s: {non_200} non-200 for the whole soak")
            print("the service said:", *said[-4:], sep="\n  ")


if __name__ == "__main__":
    main()
