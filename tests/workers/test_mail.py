"""The mail queue: an e-mail is sent once per event key, however often SQS delivers it.

Real SQS and SES (moto), the local worker loop calling the handlers app.py registers for the
``mail`` queue and its dead letters; Resend as a local server answering as Resend does.
"""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import boto3
import pytest

import app as app_module
from chalicelib import messages, registry
from chalicelib.messages import MailMessage
from chalicelib.services import mail, providers
from chalicelib.services.system_defaults import seed_system_defaults
from infra.local.worker import WorkerLoop
from tests.unit.ai.fake_apis import Reply
from tests.unit.mail.fake_resend import FakeResend

ACCOUNT = "acc-mail"
DATA = {"name": "Ada", "link": "http://localhost:3000/reset?token=secret-link-token"}


@pytest.fixture
def outbox(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAIL_OUTBOX_DIR", str(tmp_path / "mail"))
    return tmp_path / "mail"


def _loop(key: str = "mail", backoff: int = 0) -> WorkerLoop:
    # backoff: how long a message given back stays invisible (SQS: the visibility timeout)
    return WorkerLoop(app_module, queues=[registry.queue(key)], backoff=lambda receive_count: backoff)


def _ses_sent() -> int:
    return int(boto3.client("ses", region_name="us-east-1").get_send_quota()["SentLast24Hours"])


def _pending(key: str = "mail") -> int:
    return sum(_loop(key).pending().values())


def test_a_queued_mail_is_sent_through_ses_and_kept_in_the_outbox(outbox: Path) -> None:
    mail.enqueue(ACCOUNT, "ada@example.com", "password_reset", DATA, key="reset:1")
    _loop().drain()

    assert _ses_sent() == 1
    record = mail.get_delivery(ACCOUNT, "reset:1")
    assert (record.status, record.provider, record.attempts, record.to) == ("sent", "ses", 1, "ada@example.com")
    assert record.provider_message_id and record.sent_at is not None
    [path] = outbox.glob("*.eml")
    kept = email.message_from_bytes(path.read_bytes(), policy=default)
    assert (kept["To"], kept["Subject"], kept["X-Mail-Key"]) == (
        "ada@example.com", "Reset your Content Engine password", "reset:1")
    assert "http://localhost:3000/reset?token=secret-link-token" in kept.get_body(("plain",)).get_content()
    assert 'href="http://localhost:3000/reset?token=secret-link-token"' in kept.get_body(("html",)).get_content()


def test_the_same_event_delivered_twice_or_queued_twice_is_sent_once(outbox: Path) -> None:
    message = MailMessage(account_id=ACCOUNT, key="invite:7:1", to="bo@example.com", template="password_reset",
                          data=DATA)
    messages.send(registry.queue("mail"), [message, message])  # SQS's at-least-once, made certain
    mail.enqueue(ACCOUNT, "bo@example.com", "password_reset", DATA, key="invite:7:1")
    _loop().drain()
    mail.enqueue(ACCOUNT, "bo@example.com", "password_reset", DATA, key="invite:7:1")  # later, again
    _loop().drain()

    assert _ses_sent() == 1
    assert len(list(outbox.glob("*.eml"))) == 1
    assert mail.get_delivery(ACCOUNT, "invite:7:1").attempts == 1
    mail.enqueue(ACCOUNT, "bo@example.com", "password_reset", DATA, key="invite:7:2")  # another event
    _loop().drain()
    assert _ses_sent() == 2


def test_keys_are_per_account(outbox: Path) -> None:
    mail.enqueue("acc-a", "a@example.com", "password_reset", DATA, key="welcome")
    mail.enqueue("acc-b", "b@example.com", "password_reset", DATA, key="welcome")
    _loop().drain()
    assert _ses_sent() == 2


def test_a_template_missing_a_value_fails_the_caller_and_queues_nothing(outbox: Path) -> None:
    with pytest.raises(mail.TemplateError, match="'link'"):
        mail.enqueue(ACCOUNT, "ada@example.com", "password_reset", {"name": "Ada"}, key="reset:2")
    assert _pending() == 0


def test_ses_refusing_the_sender_ends_the_mail_failed_with_the_reason_and_no_retry(
        outbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_FROM", "someone@unverified.example.org")
    mail.enqueue(ACCOUNT, "ada@example.com", "password_reset", DATA, key="reset:3")
    _loop().drain()
    record = mail.get_delivery(ACCOUNT, "reset:3")
    assert (record.status, record.error_code) == ("failed", "mail_rejected")
    assert "not verified" in record.error
    assert _ses_sent() == 0 and _pending() == 0 and not list(outbox.glob("*.eml"))


@pytest.fixture
def resend(outbox: Path, monkeypatch: pytest.MonkeyPatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    seed_system_defaults()
    server = FakeResend("re_live_key_123456")
    providers.update_provider("resend", {"api_endpoint": server.endpoint},
                              secret_values={"api_key": "re_live_key_123456"})
    monkeypatch.setenv("MAIL_PROVIDER", "resend")
    yield server
    server.close()


def test_resend_down_leaves_the_mail_retrying_then_the_next_delivery_sends_it_once(resend: FakeResend) -> None:
    resend.queue(Reply(status=503))
    mail.enqueue(ACCOUNT, "ada@example.com", "password_reset", DATA, key="reset:4")
    loop = _loop(backoff=1)
    [first] = loop.drain(until_empty=False)
    assert first.failed_ids  # SQS keeps it
    record = mail.get_delivery(ACCOUNT, "reset:4")
    assert (record.status, record.error_code) == ("retrying", "mail_provider_unavailable")
    loop.drain()
    record = mail.get_delivery(ACCOUNT, "reset:4")
    assert (record.status, record.provider, record.attempts) == ("sent", "resend", 2)
    assert [r.headers["idempotency-key"] for r in resend.requests] == ["reset:4", "reset:4"]
    assert _ses_sent() == 0


def test_resend_without_a_key_is_not_a_send_and_comes_back(outbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_PROVIDER", "resend")  # the provider is not seeded: no key
    mail.enqueue(ACCOUNT, "ada@example.com", "password_reset", DATA, key="reset:5")
    [result] = _loop(backoff=1).drain(until_empty=False)
    assert result.failed_ids
    assert mail.get_delivery(ACCOUNT, "reset:5").status == "retrying"


def _dead_letter(message: MailMessage) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=registry.queue("mail").dlq_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=messages.body(message))


def test_a_dead_letter_ends_an_unsent_mail_failed_and_leaves_a_sent_one_sent(outbox: Path) -> None:
    unsent = MailMessage(account_id=ACCOUNT, key="reset:6", to="ada@example.com", template="password_reset",
                         data=DATA)
    _dead_letter(unsent)
    mail.enqueue(ACCOUNT, "bo@example.com", "password_reset", DATA, key="reset:7")
    _loop().drain()
    _dead_letter(MailMessage(account_id=ACCOUNT, key="reset:7", to="bo@example.com", template="password_reset",
                             data=DATA))
    _loop("mail_dlq").drain()

    failed = mail.get_delivery(ACCOUNT, "reset:6")
    assert (failed.status, failed.error_code) == ("failed", "worker_died")
    assert mail.get_delivery(ACCOUNT, "reset:7").status == "sent"
    assert _pending("mail_dlq") == 0
    mail.enqueue(ACCOUNT, "ada@example.com", "password_reset", DATA, key="reset:6")  # failed for good: not sent
    _loop().drain()
    assert _ses_sent() == 1
