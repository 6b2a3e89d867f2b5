"""A real WordPress for the tests in this folder (``make e2e``).

The ``wordpress`` fixture (session scope) installs Debian's packages if needed and starts
one fresh instance (infra/wordpress/server.py). If WordPress cannot run here, the tests are
skipped, except in CI (``CI=true``) or with ``REQUIRE_WORDPRESS=1``, where that is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from infra.wordpress import server
from infra.wordpress.server import WordPressServer


def _required() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes") or os.environ.get("REQUIRE_WORDPRESS") == "1"


@pytest.fixture(scope="session")
def wordpress() -> Iterator[WordPressServer]:
    result = server.ensure_installed()
    if not result:
        message = f"WordPress cannot run here: {result.reason}"
        if _required():
            pytest.fail(message)
        pytest.skip(message)
    started = time.monotonic()
    try:
        wp = server.start()
    except server.WordPressUnavailable as exc:
        if _required():
            pytest.fail(f"WordPress cannot run here: {exc}")
        pytest.skip(f"WordPress cannot run here: {exc}")
    wp.start_seconds = round(time.monotonic() - started, 2)  # type: ignore[attr-defined]
    yield wp
    wp.stop()
