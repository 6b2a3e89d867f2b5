"""/v1/docs in a real browser (headless Chromium), served by the local stack over HTTP (through the
console's origin, which passes /v1 to the API as it is).

The page shows every operation of /v1/openapi.json, builds the details and the "try it" form of
each without a script error, and sends real requests with the caller's token: ``GET /v1/me``, and
the CSV keyword import with a text/csv body (counted afterwards through the API). Any error in
the page's console (a script error, a blocked or failed load) fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.demo import Http

pytestmark = pytest.mark.e2e

CSV = "keyword,search_volume,difficulty,cpc\nespresso grinder,1200,35,1.4\nmilk frother,800,20,0.9\n" \
      "descaling a machine,300,15,0.5\n"


@pytest.fixture(scope="module")
def owner(stack: Any) -> dict[str, str]:
    http = Http(stack.console_url)
    email = f"docs-{uuid.uuid4().hex[:10]}@example.com"
    password = f"docs-password-{uuid.uuid4().hex}"
    http.post("/v1/auth/register", {"account_name": "Docs Browser Inc", "email": email, "password": password},
              expect=201)
    http.token = http.post("/v1/auth/login", {"email": email, "password": password})["access_token"]
    site = http.post("/v1/sites", {"name": "Docs Blog", "domain": "docs.example.com", "time_zone": "UTC"},
                     expect=201)
    sector = http.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "Espresso"}, expect=201)
    return {"email": email, "token": str(http.token), "site_id": site["site_id"], "sector_id": sector["sector_id"]}


@pytest.fixture
def page(browser: Any, stack: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(
        f"{msg.text} [{msg.location.get('url', '')}]"))
    page.on("pageerror", lambda exc: page.console_errors.append(f"uncaught: {exc}"))
    page.goto(f"{stack.console_url}/v1/docs")
    page.wait_for_selector("#routes[data-operations]", timeout=30_000)
    yield page
    context.close()


def _operations(stack: Any) -> dict[str, tuple[str, str, dict[str, Any]]]:
    document = Http(stack.console_url).get("/v1/openapi.json")
    return {op["operationId"]: (method.upper(), path, op)
            for path, ops in document["paths"].items() for method, op in ops.items()}


def _open(page: Any, operation_id: str) -> Any:
    details = page.locator(f'details[data-op="{operation_id}"]')
    details.locator("summary").click()
    details.locator("form.try button.send").wait_for()
    return details


def _send(details: Any) -> tuple[str, str]:
    details.locator("button.send").click()
    status = details.locator(".status")
    status.filter(has_not_text="Sending").filter(has_text=" ").wait_for(timeout=30_000)
    page_status = status.inner_text()
    return page_status, details.locator("pre.answer").inner_text()


def test_every_operation_is_shown_with_its_form_and_no_console_error(page: Any, stack: Any,
                                                                     tmp_path: Path) -> None:
    operations = _operations(stack)
    shown = page.eval_on_selector_all("details.op", "ds => ds.map(d => d.dataset.op)")
    assert sorted(shown) == sorted(operations)
    for operation_id, (method, path, _op) in list(operations.items())[:5]:
        summary = page.locator(f'details[data-op="{operation_id}"] summary').inner_text()
        assert summary.startswith(method) and path in summary
    # open every operation: each builds its schemas and its form (the CSV import's body is not JSON)
    page.eval_on_selector_all("details.op", "ds => ds.forEach(d => { d.open = true; })")
    page.wait_for_function(f"document.querySelectorAll('form.try button.send').length === {len(operations)}",
                           timeout=30_000)
    with_body = [op_id for op_id, (_m, _p, op) in operations.items() if "requestBody" in op]
    assert page.locator("form.try textarea").count() == len(with_body)
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert page.console_errors == []


def test_send_calls_the_api_with_the_callers_token(page: Any, owner: dict[str, str]) -> None:
    me = _open(page, "get_v1_me")
    status, answer = _send(me)
    assert status.startswith("401"), (status, answer)  # no token yet
    assert '"code": "' in answer and '"request_id": "' in answer
    page.fill("#token", owner["token"])
    # Chromium logs every 4xx answer to fetch() in the console: the one the test asked for, and only it
    assert page.console_errors == [
        f"Failed to load resource: the server responded with a status of 401 (Unauthorized) [{page.url[:-4]}me]"]
    page.console_errors.clear()
    status, answer = _send(me)
    assert status.startswith("200") and "X-Request-Id" in status, (status, answer)
    assert owner["email"] in answer
    assert page.console_errors == []


def test_the_csv_import_sends_a_text_csv_body(page: Any, stack: Any, owner: dict[str, str]) -> None:
    operations = _operations(stack)
    csv_ops = [op_id for op_id, (_m, _p, op) in operations.items()
               if "text/csv" in op.get("requestBody", {}).get("content", {})]
    assert len(csv_ops) == 1
    page.fill("#token", owner["token"])
    details = _open(page, csv_ops[0])
    details.locator('input[name="path:site_id"]').fill(owner["site_id"])
    details.locator('input[name="query:sector_id"]').fill(owner["sector_id"])
    details.locator('select[name="content-type"]').select_option("text/csv")
    details.locator('textarea[name="body"]').fill(CSV)
    status, answer = _send(details)
    assert status[:1] == "2", (status, answer)
    http = Http(stack.console_url)
    http.token = owner["token"]
    keywords = http.get(f"/v1/sites/{owner['site_id']}/keywords?limit=50")["items"]
    assert {k["keyword"] for k in keywords} >= {"espresso grinder", "milk frother", "descaling a machine"}
    assert page.console_errors == []
