"""The account's tools in the console: API keys and the audit log.

Used on their screens as an admin would, and checked where they leave the console: a key made
on the screen calls the API until it is revoked there; the audit log shows what the API recorded.
"""

from __future__ import annotations

import uuid

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


def test_an_api_key_made_on_the_screen_works_until_it_is_revoked_there(open_console, stack):
    base = stack.console_url
    email, _ = _owner(base)
    c: Console = open_console()
    c.sign_in(email, PASSWORD)
    c.nav("API keys")
    expect(c.page.get_by_text("No API keys yet")).to_be_visible()
    main = c.page.locator("main")
    main.get_by_label("Name").fill("reporting server")
    main.get_by_role("button", name="Create key").click()
    key = main.get_by_test_id("new-api-key").inner_text()
    assert key.startswith("sk_")
    c.check("API keys, a new key shown once")
    assert requests.get(f"{base}/v1/sites", headers={"X-Api-Key": key}, timeout=30).status_code == 200
    main.get_by_role("button", name="I have copied it").click()
    expect(main.get_by_test_id("new-api-key")).to_have_count(0)
    main.get_by_role("button", name="Revoke").click()
    main.get_by_role("button", name="Yes, revoke").click()
    expect(main.get_by_text("revoked", exact=True)).to_be_visible()
    assert requests.get(f"{base}/v1/sites", headers={"X-Api-Key": key}, timeout=30).status_code == 401

    c.nav("Audit log")
    for action in ("auth.sign_in", "api_key.created", "api_key.revoked"):
        expect(main.get_by_role("cell", name=action, exact=True).first).to_be_visible()
    c.check("audit log")
