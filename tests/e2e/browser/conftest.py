"""A real browser for the tests in this folder: Debian's Chromium, driven by Playwright.

``chromium`` (session scope) installs Debian's ``chromium`` and ``chromium-driver`` with apt-get
when /usr/bin/chromium is missing and the tests run as root (the way tests/e2e/wordpress installs
WordPress); Playwright's own browser download is never used. When the browser cannot be had here
(not root, no apt-get, apt-get failing), the tests are skipped with the reason, except in CI
(``CI=true``) or with ``REQUIRE_BROWSER=1``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "chromium-driver")
# What works in a container without a GPU, a sandbox or the network (and keeps Chromium from calling home).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[3]


def _required() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes") or os.environ.get("REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    message = f"no browser for the UI tests: {reason}"
    if _required():
        pytest.fail(message)
    pytest.skip(message)


def ensure_chromium(timeout: float = 900) -> str | None:
    """Installs Debian's Chromium if it is missing; the reason it cannot, or None."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() != 0:
        return f"{CHROMIUM} is missing and this is not root (apt-get install {' '.join(PACKAGES)})"
    apt = shutil.which("apt-get")
    if not apt:
        return f"{CHROMIUM} is missing and there is no apt-get"
    log = ROOT / ".cache" / "chromium-apt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(log, "ab") as out:
        try:
            done = subprocess.run([apt, "install", "-y", *PACKAGES], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
            if done.returncode != 0:  # a stale package list: update once, then again
                subprocess.run([apt, "update"], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                               check=False)
                done = subprocess.run([apt, "install", "-y", *PACKAGES], env=env, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return f"apt-get did not finish in {timeout:.0f}s (log: {log})"
    if not CHROMIUM.exists():
        return f"apt-get install {' '.join(PACKAGES)} failed (exit {done.returncode}; log: {log})"
    return None


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A browser context on a fresh profile: ``chromium.new_page()``."""
    reason = ensure_chromium()
    if reason:
        _unavailable(reason)
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (requirements-dev.txt; make setup)")
    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
                args=FLAGS)
        except Error as exc:
            _unavailable(f"{CHROMIUM} does not start under Playwright: {exc}")
        yield context
        context.close()
