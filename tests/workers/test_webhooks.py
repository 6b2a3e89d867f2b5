"""Outbound webhooks: signed as Standard Webhooks says, retried with backoff, disabled after 5 failures.

The receiver is a real HTTP server on loopback (the SSRF guard lets loopback through in tests,
as for the WordPress tests: ALLOW_LOOPBACK_TARGETS); SQS, DynamoDB and KMS are moto's, and the
worker loop calls the handlers app.py registers. The signature is checked with the reference
algorithm written out below, not with the product's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib import messages, registry
from chalicelib.messages import WebhookAttempt
from chalicelib.services import account_events
from chalicelib.services import event_names as ev
from chalicelib.services.webhooks import delivery
from tests.conftest import SENTINEL
from tests.workers.notify_support import SqsClock, drain


class Receiver:
    """A customer's endpoint: records every request, answers with the next queued status (else 200)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The Standard Webhooks reference verification (standardwebhooks.com, spec section "Verifying")."""
    import time

    msg_id, timestamp, signatures = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig.split(",", 1)[1])
               for sig in signatures.split(" ") if sig.startswith("v1,"))


@pytest.fixture
def kms(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)


@pytest.fixture
def receiver(kms):
    server = Receiver()
    yield server
    server.close()


def _create(api, member, url: str, events: list[str]) -> dict:
    r = api.post("/v1/webhooks", {"url": url, "events": events, "description": "ours"}, token=member.token)
    assert r.status == 201, r.json
    SENTINEL.learn(r.json["secret"])  # from now on, no response or log line may carry it
    return r.json


def test_a_delivery_is_signed_as_standard_webhooks_says(api, register, receiver):
    owner = register()
    endpoint = _create(api, owner, receiver.url, [ev.RUN_COMPLETED, ev.CONTENT_PUBLISHED])
    assert endpoint["secret"].startswith("whsec_") and endpoint["secret_hint"].endswith(endpoint["secret"][-4:])

    account_events.emit(owner.account_id, ev.RUN_COMPLETED, {"run_id": "r1"}, key="r1", site_id="s1")
    account_events.emit(owner.account_id, ev.RUN_FAILED, {"run_id": "r2"}, key="r2")  # not subscribed
    drain()

    [request] = receiver.requests
    assert verify_standard_webhook(endpoint["secret"], request["headers"], request["body"])
    assert not verify_standard_webhook("whsec_" + base64.b64encode(b"x" * 24).decode(), request["headers"],
                                       request["body"])
    body = json.loads(request["body"])
    assert body["type"] == ev.RUN_COMPLETED and body["data"] == {"run_id": "r1", "account_id": owner.account_id,
                                                                 "site_id": "s1"}
    log = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}/deliveries", token=owner.token).json["items"]
    assert [(d["delivery_id"], d["status"], d["response_code"]) for d in log] == [
        (request["headers"]["webhook-id"], "delivered", 200)]
    assert log[0]["attempts"][0]["status_code"] == 200
    for path in ("/v1/webhooks", f"/v1/webhooks/{endpoint['endpoint_id']}"):
        assert endpoint["secret"] not in api.get(path, token=owner.token).raw.decode()


def test_a_duplicated_event_or_attempt_is_delivered_once(api, register, receiver):
    owner = register()
    endpoint = _create(api, owner, receiver.url, [ev.CREDITS_LOW])
    for _ in range(2):
        account_events.emit(owner.account_id, ev.CREDITS_LOW, {"credit_type": "content", "available": 1}, key="d1")
    drain()
    [sent] = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}/deliveries", token=owner.token).json["items"]
    again = WebhookAttempt(account_id=owner.account_id, endpoint_id=endpoint["endpoint_id"],
                           delivery_id=sent["delivery_id"], attempt=1)
    messages.send(registry.queue("webhook_deliveries"), [again, again])
    drain()
    assert len(receiver.requests) == 1


def test_an_endpoint_failing_five_times_is_retried_with_backoff_then_disabled(api, register, add_member,
                                                                                receiver, monkeypatch):
    clock = SqsClock(monkeypatch)
    owner = register()
    admin = add_member(owner, "admin")
    endpoint = _create(api, admin, receiver.url, [ev.RUN_FAILED])
    receiver.statuses = [500] * 10
    account_events.emit(owner.account_id, ev.RUN_FAILED, {"run_id": "r9", "error": "boom"}, key="r9")
    drain()
    waits = []
    for _ in range(6):  # each retry becomes visible only once its delay has passed
        [current] = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}/deliveries", token=admin.token).json["items"]
        if current["status"] != "retrying":
            break
        wait = current["attempts"][-1]["retry_in"]
        waits.append(wait)
        clock.advance(wait - 1)
        drain()
        assert len(receiver.requests) == len(waits)  # not before its time
        clock.advance(1)
        drain()

    assert waits == [delivery.retry_delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert len(receiver.requests) == delivery.DISABLE_AFTER == 5
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1  # one message id on every attempt
    assert current["status"] == "failed" and [a["status_code"] for a in current["attempts"]] == [500] * 5
    state = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}", token=admin.token).json
    assert (state["enabled"], state["consecutive_failures"]) == (False, 5)
    assert "5 consecutive failed deliveries" in state["disabled_reason"]

    told = [n for n in api.get("/v1/notifications", token=owner.token).json["items"]
            if n["event"] == ev.WEBHOOK_DISABLED]
    assert len(told) == 1 and receiver.url in told[0]["message"]

    account_events.emit(owner.account_id, ev.RUN_FAILED, {"run_id": "r10"}, key="r10")
    drain()
    assert len(receiver.requests) == 5  # a disabled endpoint gets nothing
    receiver.statuses = []  # mended: it answers 200 again
    r = api.patch(f"/v1/webhooks/{endpoint['endpoint_id']}", {"enabled": True}, token=admin.token)
    assert (r.json["enabled"], r.json["consecutive_failures"]) == (True, 0)
    test = api.post(f"/v1/webhooks/{endpoint['endpoint_id']}/test", token=admin.token)
    assert test.status == 202 and test.json["event"] == ev.WEBHOOK_TEST
    drain()
    assert json.loads(receiver.requests[-1]["body"])["type"] == ev.WEBHOOK_TEST
    sent = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}/deliveries/{test.json['delivery_id']}", token=admin.token)
    assert (sent.json["status"], sent.json["response_code"]) == ("delivered", 200)


def test_the_ssrf_guard_refuses_private_urls_at_save_time_and_at_delivery(api, register, receiver, monkeypatch):
    owner = register()
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.0.0.7/hook", "ftp://example.com/x",
                "http://user:pw@example.com/"):
        r = api.post("/v1/webhooks", {"url": url, "events": [ev.RUN_FAILED]}, token=owner.token)
        assert (r.status, r.error_code) == (422, "webhook_url_blocked"), url
    endpoint = _create(api, owner, receiver.url, [ev.RUN_FAILED])
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "0")  # as in the cloud: loopback is private
    account_events.emit(owner.account_id, ev.RUN_FAILED, {"run_id": "r1"}, key="r1")
    drain()
    assert receiver.requests == []
    [log] = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}/deliveries", token=owner.token).json["items"]
    assert log["status"] == "retrying" and "BlockedTarget" in log["error"] and log["response_code"] is None


def test_endpoints_are_for_admins_and_their_events_are_checked(api, register, add_member, receiver):
    owner = register()
    editor = add_member(owner, "editor")
    assert api.post("/v1/webhooks", {"url": receiver.url, "events": [ev.RUN_FAILED]}, token=editor.token).status == 403
    assert api.get("/v1/webhooks", token=editor.token).status == 403
    r = api.post("/v1/webhooks", {"url": receiver.url, "events": ["payment.failed"]}, token=owner.token)
    assert r.status == 422 and r.json["error"]["details"][0]["field"] == "events.0"
    endpoint = _create(api, owner, receiver.url, [ev.RUN_FAILED])
    rotated = api.post(f"/v1/webhooks/{endpoint['endpoint_id']}/rotate-secret", token=owner.token).json
    SENTINEL.learn(rotated["secret"])
    assert rotated["secret"] != endpoint["secret"]
    account_events.emit(owner.account_id, ev.RUN_FAILED, {"run_id": "r1"}, key="r1")
    drain()
    [request] = receiver.requests
    assert verify_standard_webhook(rotated["secret"], request["headers"], request["body"])
    assert not verify_standard_webhook(endpoint["secret"], request["headers"], request["body"])
    assert api.delete(f"/v1/webhooks/{endpoint['endpoint_id']}", token=owner.token).status == 200
    assert api.get(f"/v1/webhooks/{endpoint['endpoint_id']}", token=owner.token).status == 404


def test_an_attempt_whose_worker_died_on_every_delivery_ends_the_delivery_failed(api, register, receiver):
    from tests.workers.notify_support import loop

    owner = register()
    endpoint = _create(api, owner, receiver.url, [ev.RUN_FAILED])
    sent = api.post(f"/v1/webhooks/{endpoint['endpoint_id']}/test", token=owner.token).json
    sqs = boto3.client("sqs", region_name="us-east-1")
    work = loop("webhook_deliveries")
    [binding] = work.bindings
    for message in work.receive(binding):  # the attempt is taken off the work queue: its worker "died"
        sqs.delete_message(QueueUrl=binding.url, ReceiptHandle=message["ReceiptHandle"])
    dead = WebhookAttempt(account_id=owner.account_id, endpoint_id=endpoint["endpoint_id"],
                          delivery_id=sent["delivery_id"], attempt=1)
    url = sqs.get_queue_url(QueueName=registry.queue("webhook_deliveries").dlq_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=messages.body(dead))
    sqs.send_message(QueueUrl=url, MessageBody=messages.body(dead))  # and again: nothing more changes
    loop("webhook_deliveries_dlq").drain()
    log = api.get(f"/v1/webhooks/{endpoint['endpoint_id']}/deliveries/{sent['delivery_id']}", token=owner.token).json
    assert (log["status"], log["attempts_made"]) == ("failed", 0) and log["error"].startswith("worker_died")
    assert receiver.requests == []
