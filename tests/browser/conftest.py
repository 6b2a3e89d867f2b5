"""The web console in a real browser (``make test-browser``; part of ``make test``).

Debian's Chromium (installed with apt-get on first use, as the WordPress tier installs its
packages) is driven by Playwright for Python against the local stack (``infra.local.stack``
started on free ports, the console and ``/v1`` on one origin) and, for publishing, a real
WordPress. If Chromium or WordPress cannot run here the tests are skipped, except in CI
(``CI=true``) or with ``REQUIRE_BROWSER=1``, where that is a failure.

``BROWSER_TEST_STACK=<state dir>`` reuses a stack that is already running (``make run
ARGS="--clock-speed 60"`` writes ``.local/stack.json``) instead of starting one: quicker
while working on the console.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.processes import ROOT, BackgroundStack
from tests.browser import chromium
from tests.browser.console import SHOTS, Audit, Console


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "browser: the web console in Chromium against the local stack (make test-browser)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests that open the console in Chromium; the others here need no browser.
    for item in items:
        if {"open_console", "browser"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


def _required() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes") or os.environ.get("REQUIRE_BROWSER") == "1"


def _unavailable(message: str) -> None:
    if _required():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def console_build() -> dict[str, Any]:
    """web/dist, built (or found up to date) by `make web`: what the stack serves."""
    done = subprocess.run(["make", "-s", "web"], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"make web failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads((ROOT / "web" / "dist" / "bundle-report.json").read_text())


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    found = chromium.ensure_installed()
    if not found.path:
        _unavailable(f"Chromium cannot run here: {found.reason}")
    return str(found.path)


class StackInfo:
    """What the tests need of the running stack: the console's address, the clock, its AWS endpoint."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.info = json.loads((state_dir / "stack.json").read_text())
        self.console_url = self.info["console_url"].rstrip("/")
        lines = (state_dir / "stack.env").read_text().splitlines()
        self.env = dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="session")
def stack(console_build: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    reuse = os.environ.get("BROWSER_TEST_STACK")
    if reuse:
        yield StackInfo(Path(reuse))
        return
    # The schedules 60x faster: the publishing tick every 5 s instead of every 5 minutes.
    background = BackgroundStack.start(state_dir=tmp_path_factory.mktemp("browser-stack"),
                                       extra_args=["--clock-speed", "60"])
    try:
        background.wait_healthy(timeout=180)
    except Exception:
        background.interrupt(timeout=30)
        pytest.fail(f"the local stack did not start:\n{background.log_tail(60)}")
    try:
        yield StackInfo(background.state_dir)
    finally:
        background.interrupt(timeout=60)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path, headless=True, args=list(chromium.FLAGS))
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def audit() -> Iterator[Audit]:
    collected = Audit()
    yield collected
    if collected.screens:
        collected.write()


@pytest.fixture
def open_console(request: pytest.FixtureRequest, browser: Any, stack: StackInfo,
                 audit: Audit) -> Iterator[Callable[[], Console]]:
    """open_console() -> a Console in a new browser context: its own cookies, nothing shared.

    A failed test leaves a screenshot of each of its pages in build/browser/failed-*.png.
    """
    contexts = []

    def _open() -> Console:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                                      timezone_id="Europe/Berlin")
        context.set_default_timeout(20_000)
        contexts.append(context)
        return Console(context.new_page(), stack.console_url, audit)

    yield _open
    if request.node.stash.get(_FAILED, False):
        SHOTS.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(SHOTS / f"failed-{request.node.name}-{n}-{m}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def wordpress() -> Iterator[Any]:
    from infra.wordpress import server

    result = server.ensure_installed()
    if not result:
        _unavailable(f"WordPress cannot run here: {result.reason}")
    started = time.monotonic()
    try:
        wp = server.start()
    except server.WordPressUnavailable as exc:
        _unavailable(f"WordPress cannot run here: {exc}")
    wp.start_seconds = round(time.monotonic() - started, 2)
    yield wp
    wp.stop()
