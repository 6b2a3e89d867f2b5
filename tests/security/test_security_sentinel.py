"""The secret sentinel itself: what it finds, where it looks, and that it is armed for the run."""

from __future__ import annotations

import logging

import jwt
import pytest

from chalicelib.auth import passwords
from tests.security.sentinel import SecretSentinel

pytestmark = pytest.mark.security

ACCESS = jwt.encode({"sub": "user-0001", "acc": "account-0001", "typ": "access"}, "k" * 32, algorithm="HS256")
REFRESH = ("01a2b3c4-0000-7000-8000-000000000001.01a2b3c4-0000-7000-8000-000000000002."
           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ")


@pytest.mark.parametrize(("text", "kind"), [
    (f'{{"token": "{ACCESS}"}}', "access token (JWT)"),
    (f"Bearer {jwt.encode({'sub': 'someone'}, None, algorithm='none')}", "access token (JWT)"),
    (f'{{"refresh_token": "{REFRESH}"}}', "refresh token"),
    (passwords.hash_password("a password"), "password hash"),
], ids=["access token", "unsigned token", "refresh token", "password hash"])  # stable ids: xdist compares them
def test_it_finds_secrets_by_their_shape(text, kind):
    assert kind in SecretSentinel().find(text)


def test_it_finds_what_the_tests_sent_and_the_environment_holds(monkeypatch):
    sentinel = SecretSentinel()
    sentinel.learn_from({"account_name": "Acme", "password": "correct horse battery",
                         "provider": {"api_key": "sk-live-0123456789abcdef"},
                         "items": [{"app_password": "abcd efgh ijkl"}]})
    assert sentinel.known == {"correct horse battery", "sk-live-0123456789abcdef", "abcd efgh ijkl"}
    assert sentinel.find("... correct horse battery ...")
    assert sentinel.find('{"key": "sk-live-0123456789abcdef"}')
    assert not sentinel.find('{"account_name": "Acme", "api_key": "••••cdef"}')  # a masked hint is fine
    monkeypatch.setenv("RUNWARE_API_KEY", "rw-secret-value-42")
    assert sentinel.find("the key is rw-secret-value-42")


def test_tokens_are_allowed_only_where_the_api_hands_them_out():
    sentinel = SecretSentinel()
    body = f'{{"access_token": "{ACCESS}", "refresh_token": "{REFRESH}"}}'.encode()
    sentinel.check_response("POST", "/v1/auth/login", 200, {}, body)
    sentinel.check_response("POST", "/v1/auth/refresh", 200, {}, body)
    assert sentinel.take() == []
    sentinel.check_response("GET", "/v1/me", 200, {}, body)
    sentinel.check_response("POST", "/v1/auth/login", 401, {}, body)  # an error never carries one
    sentinel.check_response("GET", "/v1/sites", 200, {"Location": f"/x?token={ACCESS}"}, b"{}")
    assert [leak.where for leak in sentinel.take()] == [
        "the response to GET /v1/me (200)", "the response to GET /v1/me (200)",
        "the response to POST /v1/auth/login (401)", "the response to POST /v1/auth/login (401)",
        "the response to GET /v1/sites (200)"]


def test_log_lines_are_checked_after_the_apps_own_masking(request):
    from chalicelib.observability import logger

    sentinel = SecretSentinel()
    handler = sentinel.handler()
    app_logger = logging.getLogger("seo-content-engine")
    logger.info("warm up")  # the app's logger is made on first use
    app_logger.addHandler(handler)
    try:
        logger.warning("signed in", extra={"refresh_token": REFRESH})  # masked by the app: fine
        assert sentinel.take() == []
        logger.warning(f"oops {REFRESH}")  # in the message: nothing masks it
        logger.warning("oops", extra={"detail": {"nested": passwords.hash_password("pw")}})
    finally:
        app_logger.removeHandler(handler)
        # The run's own sentinel saw these lines too: they were written on purpose.
        request.config.pluginmanager.get_plugin("secret-sentinel").sentinel.take()
    assert [leak.kind for leak in sentinel.take()] == ["refresh token", "password hash"]
    assert sentinel.log_lines == 3


def test_the_sentinel_watches_this_run(request, api, register):
    plugin = request.config.pluginmanager.get_plugin("secret-sentinel")
    assert plugin is not None, "tests/conftest.py registers the secret sentinel"
    before = plugin.sentinel.responses
    member = register("sentinel")
    api.get("/v1/me", token=member.token)
    assert plugin.sentinel.responses >= before + 2
    assert member.password in plugin.sentinel.known  # learned from the register request
