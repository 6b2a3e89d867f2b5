"""The security and fuzz suites: a shared two-tenant world (in-process, per module), every app
log line emitted and checked by the secret sentinel, and the figures printed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.security import figures
from tests.security.world import InProcessApi, ModelBackend, World, build_world, model_job


def pytest_report_header(config: pytest.Config) -> str:
    return f"security profile: {figures.security_profile()}, fuzz profile: {figures.fuzz_profile()}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = figures.report_lines()
    if lines:
        terminalreporter.section("security figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def _every_log_line_is_emitted() -> Iterator[None]:
    """Here the app logs at DEBUG, so the sentinel sees every line it could ever write."""
    from chalicelib.observability import logger

    level = logger.log_level
    logger.setLevel("DEBUG")
    yield
    logger.setLevel(level)


class ModuleAws:
    """``aws`` + ``api`` of tests/conftest.py, for a whole module (one world, many checks)."""

    def __enter__(self) -> Any:
        from chalice.test import Client
        from moto import mock_aws

        from app import app
        from chalicelib.services import ttl_cache
        from infra.local import provision

        ttl_cache.clear_all()
        self._mock = mock_aws()
        self._mock.start()
        provision.create_tables(wait=False, assume_empty=True)
        provision.create_queues()
        provision.create_bucket()
        provision.create_mail_identity()
        self._client = Client(app)
        self._client.__enter__()
        return self._client

    def __exit__(self, *exc: Any) -> None:
        from chalicelib.services import ttl_cache

        self._client.__exit__(*exc)
        self._mock.stop()
        ttl_cache.clear_all()


def sentinel(config: pytest.Config) -> Any:
    """The session's secret sentinel (registered by tests/conftest.py)."""
    plugin = config.pluginmanager.get_plugin("secret-sentinel")
    return plugin.sentinel if plugin is not None else None


@pytest.fixture(scope="module")
def module_api(request: pytest.FixtureRequest) -> Iterator[InProcessApi]:
    guard = sentinel(request.config)
    if guard is not None:
        guard.wrap_client(InProcessApi)
    with ModuleAws() as client:
        yield InProcessApi(client)


@pytest.fixture(scope="module")
def world(module_api: Any) -> World:
    return build_world(module_api, ModelBackend(), make_job=model_job)
