"""Account settings in the console: what a person sets on the screen is what the API then holds.

An account's owner adds and edits an author profile, writes the account's own clustering prompt
and drops it again, and switches a module off; after each step the API (read with the owner's
own token) says the same. Each tab is checked with axe-core and photographed.
"""

from __future__ import annotations

import uuid
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.console import Console

PASSWORD = "correct horse battery staple"


def _owner(base_url: str) -> tuple[str, dict[str, str]]:
    email = f"settings-{uuid.uuid4().hex[:8]}@example.com"
    answer = requests.post(f"{base_url}/v1/auth/register", json={"account_name": "Settings Inc", "email": email,
                                                                 "password": PASSWORD}, timeout=30)
    assert answer.status_code == 201, answer.text
    return email, {"Authorization": f"Bearer {answer.json()['tokens']['access_token']}"}


def _get(base_url: str, path: str, headers: dict[str, str]) -> Any:
    answer = requests.get(f"{base_url}{path}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_author_profiles_prompts_and_modules_set_in_the_console_are_what_the_api_holds(open_console, stack):
    base = stack.console_url
    email, auth = _owner(base)
    c: Console = open_console()
    c.sign_in(email, PASSWORD)
    c.nav("Account settings")
    assert c.heading() == "Account settings"
    expect(c.page.get_by_text("No author profiles of your own yet")).to_be_visible()
    c.check("account settings, author profiles (empty)")

    main = c.page.locator("main")
    main.get_by_label("Name", exact=True).fill("Barista Bea")
    main.get_by_label("Tone", exact=True).fill("friendly")
    main.get_by_label("Language", exact=True).fill("de-AT")
    main.get_by_label("Instructions to the writer").fill("Short sentences. Metric units.")
    main.get_by_role("button", name="Add profile").click()
    expect(main.get_by_role("cell", name="Barista Bea", exact=True)).to_be_visible()
    [profile] = _get(base, "/v1/account/author-profiles", auth)["items"]
    assert (profile["name"], profile["tone"], profile["language"], profile["instructions"]) == (
        "Barista Bea", "friendly", "de-AT", "Short sentences. Metric units.")

    main.get_by_role("button", name="Edit Barista Bea").click()
    main.get_by_label("Tone", exact=True).fill("technical")
    main.get_by_role("button", name="Save profile").click()
    expect(main.get_by_role("cell", name="technical", exact=True)).to_be_visible()
    assert _get(base, "/v1/account/author-profiles", auth)["items"][0]["tone"] == "technical"
    # a value the API refuses is shown at its field, with the API's words
    main.get_by_label("Name", exact=True).fill("Second voice")
    main.get_by_label("Language", exact=True).fill("German")
    main.get_by_role("button", name="Add profile").click()
    expect(main.locator(".field-invalid")).to_contain_text("Language")
    c.check("account settings, author profiles")

    main.get_by_role("tab", name="Prompts").click()
    expect(main.get_by_role("button", name="Write your own clustering prompt")).to_be_visible()
    before = _get(base, "/v1/account/prompts/clustering", auth)
    assert before["source"] in ("global", "builtin")
    c.check("account settings, prompts")
    main.get_by_role("button", name="Write your own clustering prompt").click()
    own = "Name this cluster of coffee keywords in three words.\n{{ keywords }}"
    main.get_by_label("Your clustering prompt").fill(own)
    main.get_by_role("button", name="Save prompt").click()
    expect(main.get_by_text("In use: your account's")).to_be_visible()
    expect(main.get_by_role("button", name="Edit clustering prompt")).to_be_visible()
    after = _get(base, "/v1/account/prompts/clustering", auth)
    assert (after["source"], after["prompt_value"]) == ("account", own)
    main.get_by_role("button", name="Use the platform's").click()
    main.get_by_role("button", name="Yes, use the platform's").click()
    expect(main.get_by_text("In use: your account's")).to_have_count(0)
    assert _get(base, "/v1/account/prompts/clustering", auth)["source"] == before["source"]

    main.get_by_role("tab", name="Modules").click()
    linker = main.get_by_role("checkbox", name="Linker: internal link suggestions")
    automation = main.get_by_role("checkbox", name="Automation: scheduled runs of the whole pipeline")
    expect(linker).not_to_be_checked()  # off for a new account, automation on
    expect(automation).to_be_checked()
    c.check("account settings, modules")
    linker.check()
    expect(c.page.locator(".toast")).to_have_text("linker switched on")
    automation.uncheck()
    expect(c.page.locator(".toast")).to_have_text("automation switched off")
    modules = _get(base, "/v1/account/modules", auth)
    assert (modules["linker"], modules["automation"]) == (True, False)
    # the screen shows what the API holds after a reload
    c.page.reload()
    c.settle()
    expect(linker).to_be_checked()
    expect(automation).not_to_be_checked()
