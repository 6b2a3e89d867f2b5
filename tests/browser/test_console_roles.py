"""Each person sees exactly what the API lets them do.

One account with a viewer, an editor and an admin (its data made through the API), and a user
of another account. Each signs in to the console in their own browser context. For every write
control of a table below, the control is on screen if and only if the API's route table lets
that role call its operation (the access map the console is built with, read here from the app's
own routes); and every control hidden from a role is one the API refuses that role (403). The
other account's user sees nothing of the first account, not even by its addresses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from infra.local.console import DEFAULT_PORT, DEFAULT_STATE_DIR, demo_sign_in
from infra.local.stack import Options as StackOptions
from infra.openapi_export import access_map
from tests.browser.console import Console

PASSWORD = "correct horse battery staple"
RANK = {"viewer": 1, "editor": 2, "admin": 3, "owner": 4}


@dataclass(frozen=True)
class Control:
    screen: str  # the console address, with {site} and {content}
    what: str
    find: Callable[[Page], Locator]
    operation: str  # "METHOD /v1/path" of the API


def button(name: str) -> Callable[[Page], Locator]:
    return lambda page: page.locator("main").get_by_role("button", name=name, exact=True)


def _on_tab(tab: str, name: str) -> Callable[[Page], Locator]:
    """A control on one of the editor's tabs: that tab opened first (every role may open it)."""
    def find(page: Page) -> Locator:
        opened = page.get_by_role("tab", name=tab, exact=True)
        opened.click()
        expect(opened).to_have_attribute("aria-selected", "true")
        return button(name)(page)
    return find


CONTROLS = [
    Control("/sites", "add a site", button("Add site"), "POST /v1/sites"),
    Control("/sites/{site}", "save the site", button("Save site"), "PATCH /v1/sites/{site_id}"),
    Control("/sites/{site}", "add a sector", button("Add sector"), "POST /v1/sites/{site_id}/sectors"),
    Control("/sites/{site}", "rename a sector", lambda p: p.get_by_role("button", name=re.compile("^Rename ")),
            "PATCH /v1/sites/{site_id}/sectors/{sector_id}"),
    Control("/sites/{site}", "delete the site", button("Delete site"), "DELETE /v1/sites/{site_id}"),
    Control("/sites/{site}/wordpress", "connect WordPress", button("Connect"), "POST /v1/sites/{site_id}/integrations"),
    Control("/sites/{site}/keywords", "import keywords",
            lambda p: p.locator("main").get_by_role("link", name="Import keywords"),
            "POST /v1/sites/{site_id}/keywords/import"),
    Control("/sites/{site}/keywords", "cluster keywords", button("Cluster pending keywords"),
            "POST /v1/sites/{site_id}/jobs"),
    Control("/sites/{site}/keywords", "select keywords for bulk changes",
            lambda p: p.get_by_label("Select all keywords shown"), "POST /v1/sites/{site_id}/keywords/bulk-status"),
    Control("/sites/{site}/keywords", "add a keyword", button("Add keyword"), "POST /v1/sites/{site_id}/keywords"),
    Control("/sites/{site}/clusters", "delete a cluster", button("Delete"),
            "DELETE /v1/sites/{site_id}/clusters/{cluster_id}"),
    Control("/sites/{site}/ideas", "approve an idea", lambda p: p.get_by_role("button", name=re.compile("^Approve ")),
            "POST /v1/sites/{site_id}/ideas/bulk-status"),
    Control("/sites/{site}/content/{content}", "approve an article", button("Approve"),
            "PATCH /v1/sites/{site_id}/content/{content_id}"),
    Control("/sites/{site}/calendar", "change publishing settings", button("Save settings"),
            "PUT /v1/sites/{site_id}/publishing/settings"),
    Control("/sites/{site}/automation", "start a run", button("Run now"), "POST /v1/sites/{site_id}/automation/runs"),
    Control("/sites/{site}/automation", "change automation", button("Save automation settings"),
            "PATCH /v1/sites/{site_id}/automation/config"),
    Control("/users", "add a user", button("Add user"), "POST /v1/users"),
    Control("/users", "change a role", lambda p: p.get_by_role("button", name="Change role"),
            "PATCH /v1/users/{user_id}"),
    Control("/settings", "add an author profile", button("Add profile"), "POST /v1/account/author-profiles"),
    Control("/settings?tab=prompts", "write the account's own prompt",
            lambda p: p.get_by_role("button", name=re.compile("^(Write your own|Edit) clustering prompt$")),
            "PUT /v1/account/prompts/{prompt_type}"),
    Control("/settings?tab=keys", "bring an own AI key", button("Check and save"),
            "PUT /v1/account/ai-keys/{provider_id}"),
    Control("/users", "invite someone", button("Send invitation"), "POST /v1/users/invites"),
    Control("/api-keys", "create an API key", button("Create key"), "POST /v1/api-keys"),
    Control("/settings?tab=modules", "switch modules",
            lambda p: p.locator("main").get_by_role("checkbox", name=re.compile("^Planner")),
            "PATCH /v1/account/modules"),
    Control("/webhooks", "add a webhook endpoint", button("Add endpoint"), "POST /v1/webhooks"),
    Control("/sites/{site}/content/{content}", "ask for internal links", _on_tab("Links", "Suggest internal links"),
            "POST /v1/sites/{site_id}/content/{content_id}/links/suggest"),
]
# Screens with no role-dependent control in this stack (no Stripe prices: nothing is for sale online),
# visited too, so each is checked with axe as a viewer sees it.
READ_ONLY = ["/credits", "/billing", "/sites/{site}/clusters", "/sites/{site}/jobs", "/sites/{site}/content",
             "/profile"]


class Api:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url, self.token = base_url, token

    def call(self, method: str, path: str, body: Any = None, expect_status: int | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = requests.request(method, f"{self.base_url}{path}", json=body, headers=headers, timeout=30)
        if expect_status is not None:
            assert answer.status_code == expect_status, (method, path, answer.status_code, answer.text[:300])
        return answer

    def post(self, path: str, body: Any, status: int = 201) -> Any:
        return self.call("POST", path, body, status).json()


def _register(base_url: str, prefix: str) -> tuple[Api, str]:
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"account_name": f"{prefix} Inc", "email": email, "password": PASSWORD}
    out = Api(base_url).post("/v1/auth/register", body)
    return Api(base_url, out["tokens"]["access_token"]), out["account"]["account_id"]


def _upgrade(stack: Any, account_id: str, plan_id: str) -> None:
    """Staff's move (there is no route for it): the account on a plan with room for four users."""
    env = stack.env
    table = next(t for t in stack.info["tables"] if t.endswith("-accounts"))
    dynamodb = boto3.client("dynamodb", endpoint_url=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env["AWS_ENDPOINT_URL"],
                            region_name=env["AWS_DEFAULT_REGION"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    dynamodb.update_item(TableName=table, Key={"account_id": {"S": account_id}},
                         UpdateExpression="SET plan_id = :p", ExpressionAttributeValues={":p": {"S": plan_id}})


@pytest.fixture(scope="module")
def world(stack: Any) -> dict[str, Any]:
    base = stack.console_url
    owner, account_id = _register(base, "roles")
    _upgrade(stack, account_id, "growth")
    members = {}
    for role in ("viewer", "editor", "admin"):
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        owner.post("/v1/users", {"email": email, "password": PASSWORD, "role": role, "first_name": role.title()})
        members[role] = email
    owner.call("PATCH", "/v1/account/modules", {"linker": True}, expect_status=200)  # the editor's Links tab
    site = owner.post("/v1/sites", {"name": "Roles Blog", "domain": "roles.example.com", "time_zone": "Europe/Berlin"})
    sid = site["site_id"]
    sector = owner.post(f"/v1/sites/{sid}/sectors", {"name": "Grinders"})
    owner.post(f"/v1/sites/{sid}/keywords/import", {"sector_id": sector["sector_id"],
                                                    "keywords": ["burr grinder", "hand grinder", "grinder settings"]},
               status=200)
    owner.post(f"/v1/sites/{sid}/clusters", {"sector_id": sector["sector_id"], "name": "Grinder basics"})
    owner.post(f"/v1/sites/{sid}/ideas", {"title": "How to choose a burr grinder", "sector_id": sector["sector_id"],
                                          "primary_keyword": "burr grinder"})
    content = owner.post(f"/v1/sites/{sid}/content", {"title": "Grinder settings explained", "sector_id":
                                                      sector["sector_id"], "body_html": "<p>Fine for espresso.</p>"})
    other, _ = _register(base, "elsewhere")
    other_email = other.call("GET", "/v1/me", expect_status=200).json()["user"]["email"]
    return {"site": sid, "site_name": site["name"], "content": content["content_id"], "members": members,
            "other": other_email, "owner": owner}


def _allowed(role: str, operation: str, needs: dict[str, str]) -> bool:
    need = needs[operation]
    return need == "none" or (need in RANK and RANK[role] >= RANK[need])


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_each_role_sees_exactly_the_controls_the_api_allows(role, open_console, world, stack):
    needs = access_map()
    c: Console = open_console()
    c.sign_in(world["members"][role], PASSWORD)
    expect(c.page.locator("header .badge")).to_have_text(role)
    token = requests.post(f"{c.base_url}/v1/auth/login", json={"email": world["members"][role], "password": PASSWORD},
                          timeout=30).json()["access_token"]
    api = Api(c.base_url, token)
    seen: dict[str, bool] = {}
    for screen in dict.fromkeys([*(control.screen for control in CONTROLS), *READ_ONLY]):
        c.go(screen.format(site=world["site"], content=world["content"]))
        if role == "viewer":
            c.check(f"{screen.format(site='site', content='article').strip('/')} as a viewer")
        for control in (ctl for ctl in CONTROLS if ctl.screen == screen):
            visible = control.find(c.page).count() > 0
            seen[control.what] = visible
            allowed = _allowed(role, control.operation, needs)
            assert visible == allowed, f"{role}: '{control.what}' is {'shown' if visible else 'hidden'}, " \
                                       f"but the API {'allows' if allowed else 'refuses'} {control.operation}"
            if not allowed:
                method, path = control.operation.split(" ", 1)
                path = re.sub(r"{site_id}", world["site"], path)
                path = re.sub(r"{content_id}", world["content"], path)
                path = re.sub(r"{\w+}", "x", path)
                answer = api.call(method, path, {})
                assert answer.status_code == 403, (role, control.operation, answer.status_code, answer.text[:200])
    # The roles differ where the API says they do: nothing is simply shown or hidden to everyone.
    if role == "viewer":
        assert not any(seen.values()), seen
    if role == "admin":
        assert all(seen.values()), seen


def test_another_account_sees_nothing_of_this_one(open_console, world):
    c: Console = open_console()
    c.sign_in(world["other"], PASSWORD)
    expect(c.page.get_by_text("No sites yet")).to_be_visible()
    assert world["site_name"] not in c.page.content()
    c.check("sites of another account")
    paths = ("/sites/{site}", "/sites/{site}/keywords", "/sites/{site}/content/{content}", "/sites/{site}/calendar")
    for path in paths:
        c.go(path.format(site=world["site"], content=world["content"]))
        expect(c.page.locator("main [role=alert]").first).to_contain_text("not found")
        assert world["site_name"] not in c.page.locator("main").inner_text()
    expect(c.page.locator("aside")).to_contain_text("(site not found)")
    c.check("another account's site (not found)")


def test_the_demo_sign_in_printed_by_make_run_works(open_console, stack):
    login = stack.info["demo_login"]
    log = stack.state_dir / "stack.log"  # what `make run` printed (a stack this session started)
    if log.exists():
        printed = log.read_text()
        assert f"Console    {stack.console_url}/" in printed
        assert f"Sign in    {login['email']} / {login['password']}" in printed
    c: Console = open_console()
    c.sign_in(login["email"], login["password"])
    expect(c.page.get_by_role("link", name="Demo Coffee Blog")).to_be_visible()
    expect(c.page.locator("header .badge")).to_have_text("owner")


def test_the_sign_in_make_demo_ends_with_works_while_make_run_is_up(open_console, stack):
    # `make demo` prints it for `make run`'s defaults: the same console port and state directory
    assert (StackOptions().console_port, StackOptions().state_dir) == (DEFAULT_PORT, DEFAULT_STATE_DIR)
    port = urlsplit(stack.console_url).port
    line = demo_sign_in(stack.state_dir, port)  # for this session's stack, as `make demo` does for .local/
    found = re.search(r"open (http://\S+) and sign in as (\S+) / (\S+)$", line)
    assert found and found[1] == f"{stack.console_url}/"
    c: Console = open_console()
    c.sign_in(found[2], found[3])
    expect(c.page.get_by_role("link", name="Demo Coffee Blog")).to_be_visible()
