"""The pages a user opens after `make all`, in a real browser: headless Chromium (the OS package,
driven by Playwright over its executable path; browser downloads are not reachable here).

Each check waits for content a user needs (rendered by the page's own scripts, not only served),
fails if any request left 127.0.0.1 and file:// (such requests are blocked, so a page that needs
the network shows it), fails on a script error, and saves a screenshot under the test's folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import DEFAULT_PACKAGE, DEFAULT_SLUG, clean_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("docker_run", "other_tasks")]

LOCAL = ("file://", "data:", "blob:", "about:", "http://127.0.0.1:")
# Debian's /usr/bin/chromium is a shell launcher; Playwright drives the binary itself.
# GitHub's Ubuntu runners ship Google Chrome.
CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
)
SHOWN_MS = 30_000  # how long a page's scripts may take to show what is checked


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM", ""), *CHROMIUM_CANDIDATES):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        reason = "no Chromium (Debian's chromium; scripts/install-system-packages.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        # Root (CI) cannot use Chromium's sandbox.
        # Chromium writes crash-report and dconf folders under XDG's config and cache homes
        # (~/.config/chromium, ~/.cache/dconf): here, not in the user's home.
        homes = tmp_path_factory.mktemp("chromium-home")
        launched = playwright.chromium.launch(
            executable_path=path,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
            env=dict(os.environ)
            | {"XDG_CONFIG_HOME": str(homes / "config"), "XDG_CACHE_HOME": str(homes / "cache")},
        )
        yield launched
        launched.close()


@contextmanager
def opened(browser: Browser, url: str, screenshot: Path) -> Iterator[Page]:
    """`url` in a fresh browser context; on leaving: a screenshot, then no request left the
    machine and no script failed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    remote: list[str] = []
    errors: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            remote.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    try:
        yield page
        with suppress(PlaywrightTimeout):  # late requests; some UIs poll and are never idle
            page.wait_for_load_state("networkidle", timeout=3_000)
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        context.close()
    assert remote == [], f"{url} fetched from the network: {remote}"
    assert errors == [], f"{url}: script errors {errors}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: list[str], url: str, project: Path, **env: str) -> Iterator[str]:
    """Run `command` in the project until `url` answers; stop its whole process group after."""
    log = project.parent / f"server-{free_port()}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=project,
            env=clean_env(**env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"{command} exited: {log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, f"{url} never answered: {log.read_text()}"
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def after_the_loop(project: Path, closed_loop: object) -> Path:
    return project


def test_data_docs_list_the_validation_results(
    browser: Browser, after_the_loop: Path, tmp_path: Path
) -> None:
    site = after_the_loop / "reports" / "data_docs"
    suite = next((after_the_loop / "gx" / "expectations").glob("*.json")).stem
    validated = len(list((site / "validations").rglob("*.html")))
    assert validated >= 2  # the first batch and the drifted one
    with opened(browser, (site / "index.html").as_uri(), tmp_path / "data-docs.png") as page:
        # The list is built by bootstrap-table's script: with no script, no rows.
        shown = f"Showing 1 to {validated} of {validated} rows"
        expect(page.get_by_text(shown)).to_be_visible(timeout=SHOWN_MS)
        results = page.locator("tbody tr:visible", has_text=suite)
        expect(results).to_have_count(validated)
        results.first.click()  # a row opens its validation result
        expect(page.get_by_text("Evaluated Expectations")).to_be_visible(timeout=SHOWN_MS)
        # The newest result: a batch the CLI refused in test_default_project, or the loop's.
        status = page.get_by_text(re.compile(r"Status:\s*(Succeeded|Failed)"))
        expect(status.first).to_be_visible()


def test_drift_report_shows_the_verdict_at_step_1s_threshold(
    browser: Browser, after_the_loop: Path, tmp_path: Path
) -> None:
    requirements = yaml.safe_load(
        (
            after_the_loop / "src" / DEFAULT_PACKAGE / "requirements" / "requirements.yaml"
        ).read_text()
    )
    alert = requirements["drift"]["alert_drift_share"]
    report = sorted((after_the_loop / "reports" / "monitoring").glob("*.html"))[-1]
    with opened(browser, report.as_uri(), tmp_path / "drift-report.png") as page:
        expect(page.get_by_text("Dataset Drift is detected")).to_be_visible(timeout=SHOWN_MS)
        expect(page.get_by_text(f"threshold is {alert}")).to_be_visible()
        expect(page.get_by_text("Drifted Columns").first).to_be_visible()


def test_system_report_shows_the_seven_steps_and_links_what_exists(
    browser: Browser, after_the_loop: Path, tmp_path: Path
) -> None:
    report = after_the_loop / "reports" / "index.html"
    with opened(browser, report.as_uri(), tmp_path / "system-report.png") as page:
        headings = page.locator("h2").all_inner_texts()
        assert [h.split(".")[0] for h in headings[:7]] == [str(n) for n in range(1, 8)], headings
        expect(page.get_by_text("champion v2").first).to_be_visible()
        charts = page.locator("svg")
        assert charts.count() >= 2
        for chart in charts.all():
            expect(chart).to_be_visible()
        files = [
            href
            for href in page.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
            if href.startswith("file://")
        ]
    assert files
    for address in files:
        target = Path(urllib.request.url2pathname(address.removeprefix("file://").split("#")[0]))
        assert target.exists(), address


def test_mlflow_ui_shows_the_champion_and_its_model_card(
    browser: Browser, after_the_loop: Path, uv: str, tmp_path: Path
) -> None:
    port = free_port()
    make = ["make", "mlflow-ui", f"UV={uv}", f"MLFLOW_UI_PORT={port}"]
    with server(make, f"http://127.0.0.1:{port}/health", after_the_loop) as health:
        base = health.removesuffix("/health")
        models = f"{base}/#/models/{DEFAULT_PACKAGE}"
        with opened(browser, models, tmp_path / "mlflow-model.png") as page:
            expect(page.get_by_text("Version 2").first).to_be_visible(timeout=SHOWN_MS)
            expect(page.get_by_text("champion").first).to_be_visible()
        with opened(browser, f"{models}/versions/2", tmp_path / "mlflow-card.png") as page:
            # The model card is the version's description, rendered from Markdown.
            card = page.get_by_text(f"Model card: {DEFAULT_PACKAGE} v2")
            expect(card).to_be_visible(timeout=SHOWN_MS)
            expect(page.get_by_text("promoted to champion").first).to_be_visible()


def test_dashboard_shows_the_monitoring_panels(
    browser: Browser, after_the_loop: Path, tmp_path: Path
) -> None:
    port = free_port()
    cli = [str(after_the_loop / ".venv" / "bin" / DEFAULT_SLUG), "dashboard", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with (
        server(cli, f"{url}/api/projects", after_the_loop),
        opened(browser, url, tmp_path / "dashboard.png") as page,
    ):
        page.get_by_text(DEFAULT_PACKAGE, exact=True).first.click(timeout=SHOWN_MS)
        expect(page.get_by_text("Share of drifted features (last run)")).to_be_visible(
            timeout=SHOWN_MS
        )
        expect(page.get_by_text("Rows monitored")).to_be_visible()
        # The loop's labels put the online metrics beside drift, each panel once (two labels
        # runs rebuild the online panels; they are not added again).
        online = page.get_by_text("Online ROC-AUC per model version", exact=False)
        expect(online).to_have_count(1, timeout=SHOWN_MS)
        expect(page.get_by_text("Labelled predictions")).to_have_count(1)


def test_api_docs_page_lists_the_endpoints(
    browser: Browser, after_the_loop: Path, tmp_path: Path
) -> None:
    port = free_port()
    cli = [str(after_the_loop / ".venv" / "bin" / DEFAULT_SLUG), "serve"]
    url = f"http://127.0.0.1:{port}"
    with (
        server(cli, f"{url}/readyz", after_the_loop, MLSD_SERVE_PORT=str(port)),
        opened(browser, f"{url}/", tmp_path / "api-docs.png") as page,
    ):
        expect(page.get_by_text("/predict", exact=True).first).to_be_visible(timeout=SHOWN_MS)
        expect(page.get_by_text("/model", exact=True).first).to_be_visible()
        expect(page.get_by_text("data contract v1").first).to_be_visible()
