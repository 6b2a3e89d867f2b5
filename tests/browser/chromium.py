"""Debian's Chromium for the browser tests: found, or installed with apt-get on first use (as root).

Playwright's own browser download is not reachable here, so the tests drive the distribution's
build (``/usr/bin/chromium``) through Playwright's ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra.local.processes import ROOT

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PACKAGES = ("chromium", "fonts-liberation")
LOG = ROOT / ".cache" / "chromium-apt.log"
# A fresh profile every launch (Playwright makes one), and nothing that calls home.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@dataclass(frozen=True)
class Found:
    path: str | None
    reason: str = ""


def find() -> str | None:
    return next((path for path in CANDIDATES if Path(path).is_file() and os.access(path, os.X_OK)), None)


def ensure_installed(timeout: float = 900) -> Found:
    """The Chromium binary, installed with apt-get when it is missing and we are root."""
    if path := find():
        return Found(path)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return Found(None, "chromium is not installed and this is not root with apt-get")
    LOG.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    with open(LOG, "ab") as out:
        try:
            done = subprocess.run(install, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
            if done.returncode != 0:
                subprocess.run(["apt-get", "update"], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                               check=False)
                subprocess.run(install, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return Found(None, f"apt-get did not finish in {timeout:.0f}s (log: {LOG})")
    return Found(find(), f"apt-get install chromium failed (log: {LOG})")
