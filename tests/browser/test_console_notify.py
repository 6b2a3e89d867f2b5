"""Notifications and outbound webhooks in the console.

A channel chosen on the screen is the API's; a webhook endpoint added on the screen receives a
signed test delivery on a local server, and its delivery log says so.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.console import Console

PASSWORD = "correct horse battery staple"


def _owner(base: str) -> tuple[str, dict[str, str]]:
    email = f"tools-{uuid.uuid4().hex[:8]}@example.com"
    answer = requests.post(f"{base}/v1/auth/register", json={"account_name": "Tools Inc", "email": email,
                                                              "password": PASSWORD}, timeout=30)
    assert answer.status_code == 201, answer.text
    return email, {"Authorization": f"Bearer {answer.json()['tokens']['access_token']}"}


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local server that records the POSTs it gets (a customer's webhook endpoint)."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode()})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks", got
    server.shutdown()


def test_notifications_and_a_webhook_set_on_their_screens(open_console, stack, receiver):
    base = stack.console_url
    email, auth = _owner(base)
    url, got = receiver
    c: Console = open_console()
    c.sign_in(email, PASSWORD)
    c.nav("Notifications")
    expect(c.page.get_by_text("No notifications yet")).to_be_visible()
    c.check("notifications, empty inbox")
    main = c.page.locator("main")
    main.get_by_role("tab", name="How you are told").click()
    main.get_by_label("run failed").select_option("email")
    main.get_by_role("button", name="Save choices").click()
    expect(c.page.locator(".toast")).to_have_text("Your choices are saved")
    prefs = requests.get(f"{base}/v1/notifications/preferences", headers=auth, timeout=30).json()
    assert prefs["channels"]["run.failed"] == "email"
    c.check("notification channels")

    c.nav("Webhooks")
    main.get_by_label("URL").fill(url)
    main.get_by_role("button", name="Add endpoint").click()
    secret = main.get_by_test_id("webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    main.get_by_role("button", name="Send a test").click()
    main.get_by_role("button", name="Deliveries").click()
    expect(main.get_by_role("cell", name="webhook.test")).to_be_visible(timeout=60_000)
    c.check("webhooks with a delivery")
    assert got, "the endpoint received nothing"
    delivery = got[-1]
    assert json.loads(delivery["body"])["type"] == "webhook.test"
    assert delivery["headers"]["webhook-signature"].startswith("v1,")
