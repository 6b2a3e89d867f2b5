"""Mail providers, asserted where the request leaves: Resend's HTTP API (a local server), SES's errors."""

from __future__ import annotations

import pytest

from chalicelib.services.mail.providers import Outgoing, Rejected, ResendProvider, Unavailable
from chalicelib.services.mail.templates import render
from tests.unit.ai.fake_apis import Reply
from tests.unit.mail.fake_resend import FakeResend

KEY = "re_test_0123456789"


@pytest.fixture
def resend():
    server = FakeResend(KEY)
    yield server
    server.close()


def _outgoing() -> Outgoing:
    mail = render("password_reset", {"name": "Ada", "link": "http://localhost:3000/reset?token=t0k"})
    return Outgoing(sender="Content Engine <no-reply@example.com>", to="ada@example.com", mail=mail,
                    key="reset:u1:abc")


def test_resend_gets_one_post_with_the_message_its_key_and_an_idempotency_key(resend: FakeResend) -> None:
    message_id = ResendProvider(KEY, resend.endpoint).send(_outgoing())
    assert message_id
    [request] = resend.requests
    assert request.path == "/emails"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["idempotency-key"] == "reset:u1:abc"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body["from"] == "Content Engine <no-reply@example.com>"
    assert request.body["to"] == ["ada@example.com"]
    assert request.body["subject"] == "Reset your Content Engine password"
    assert "http://localhost:3000/reset?token=t0k" in request.body["text"]
    assert 'href="http://localhost:3000/reset?token=t0k"' in request.body["html"]
    assert set(request.body) == {"from", "to", "subject", "text", "html"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_resend_throttling_or_an_outage_is_worth_another_try(resend: FakeResend, status: int) -> None:
    resend.queue(Reply(status=status))
    with pytest.raises(Unavailable, match=str(status)):
        ResendProvider(KEY, resend.endpoint).send(_outgoing())


@pytest.mark.parametrize("status", [400, 403, 422])
def test_resend_refusing_the_message_is_final_and_says_why(resend: FakeResend, status: int) -> None:
    resend.queue(Reply(status=status, body={"statusCode": status, "name": "validation_error",
                                            "message": "Invalid `to` field"}))
    with pytest.raises(Rejected, match="Invalid `to` field"):
        ResendProvider(KEY, resend.endpoint).send(_outgoing())


def test_a_wrong_resend_key_is_refused_by_the_server(resend: FakeResend) -> None:
    with pytest.raises(Rejected, match="401"):
        ResendProvider("re_wrong", resend.endpoint).send(_outgoing())


def test_resend_unreachable_is_worth_another_try() -> None:
    server = FakeResend(KEY)
    endpoint = server.endpoint
    server.close()
    with pytest.raises(Unavailable, match="could not be reached"):
        ResendProvider(KEY, endpoint).send(_outgoing())
