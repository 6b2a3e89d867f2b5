"""People in the console, through the links the product e-mails (read from the stack's outbox).

An admin invites someone on the users screen; the invitation's link (as mailed) opens the
console's accept page in another browser, where the person chooses a password and lands signed
in with the invited role. Someone who forgot their password asks for a link on the sign-in
screen, opens the mailed link, chooses a new one, and signs in with it (the old one is refused).
"""

from __future__ import annotations

import time
import uuid

import requests
from playwright.sync_api import expect

from infra.local.mailbox import Mailbox, link
from tests.browser.console import Console

PASSWORD = "correct horse battery staple"


def _mail_link(stack, to: str, path: str, timeout: float = 60.0) -> str:
    box = Mailbox(stack.state_dir / "mail")
    deadline = time.monotonic() + timeout
    while True:
        try:
            return link(box.latest(to), path)
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _owner(base: str) -> tuple[str, str]:
    email = f"people-{uuid.uuid4().hex[:8]}@example.com"
    answer = requests.post(f"{base}/v1/auth/register", json={"account_name": "People Inc", "email": email,
                                                              "password": PASSWORD}, timeout=30)
    assert answer.status_code == 201, answer.text
    return email, answer.json()["account"]["account_id"]


def test_an_invitation_sent_on_the_users_screen_is_accepted_through_its_mailed_link(open_console, stack):
    owner, _ = _owner(stack.console_url)
    admin: Console = open_console()
    admin.sign_in(owner, PASSWORD)
    admin.nav("Users and roles")
    invited = f"invited-{uuid.uuid4().hex[:8]}@example.com"
    main = admin.page.locator("main")
    main.get_by_label("Their e-mail").fill(invited)
    main.get_by_label("Their role").select_option("viewer")
    main.get_by_role("button", name="Send invitation").click()
    expect(main.get_by_role("cell", name=invited, exact=True)).to_be_visible()
    admin.check("users with a pending invitation")

    url = _mail_link(stack, invited, "/accept-invite")
    assert url.startswith(f"{stack.console_url}/accept-invite?token=")
    person: Console = open_console()
    person.page.goto(url)
    person.settle()
    assert "token=" not in person.page.url  # read once, then taken out of the address
    expect(person.page.get_by_text("to People Inc as viewer")).to_be_visible()
    person.check("accept an invitation")
    person.page.get_by_label("Choose a password").fill(PASSWORD)
    person.page.get_by_role("button", name="Join People Inc").click()
    expect(person.page.locator("header .badge")).to_have_text("viewer")
    # the link worked once
    person.page.goto(url)
    person.settle()
    expect(person.page.locator("main [role=alert]")).to_be_visible()
    admin.page.reload()
    admin.settle()
    expect(admin.page.locator("main").get_by_role("cell", name=invited, exact=True).first).to_be_visible()
    expect(admin.page.locator("main").get_by_text("accepted")).to_be_visible()


def test_a_forgotten_password_is_replaced_through_the_mailed_link(open_console, stack):
    email, _ = _owner(stack.console_url)
    c: Console = open_console()
    c.go("/signin")
    c.page.get_by_role("link", name="Forgot your password?").click()
    c.settle()
    c.page.get_by_label("E-mail").fill(email)
    c.page.get_by_role("button", name="Mail me a link").click()
    expect(c.page.get_by_text("we sent it a link")).to_be_visible()
    c.check("ask for a password reset link")
    url = _mail_link(stack, email, "/reset-password")
    c.page.goto(url)
    c.settle()
    new = "a brand new passphrase"
    c.page.get_by_label("New password").fill(new)
    c.page.get_by_role("button", name="Change password").click()
    expect(c.page.get_by_text("Your password is changed")).to_be_visible()
    c.check("password changed")
    assert requests.post(f"{stack.console_url}/v1/auth/login", json={"email": email, "password": PASSWORD},
                         timeout=30).status_code == 401
    c.sign_in(email, new)
    expect(c.page.locator("header .badge")).to_have_text("owner")
