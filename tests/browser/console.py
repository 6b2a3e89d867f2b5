"""Driving the console as a person would, and checking each screen: axe-core and a screenshot.

``Console(page, base_url, audit)`` wraps a Playwright page: ``go("/sites")`` opens a screen by its
address, ``sign_in`` / ``sign_up`` use the forms, and ``check("sites")`` waits for the screen to
settle, runs axe-core in the page (WCAG 2.x A and AA plus best practices) and saves a
screenshot under ``build/browser/``. Serious or critical violations fail the test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from infra.local.processes import ROOT

SHOTS = ROOT / "build" / "browser"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("serious", "critical")


@dataclass
class Audit:
    """Every screen checked in the session: its violations by impact and its screenshot."""

    screens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, name: str, violations: list[dict[str, Any]], shot: Path) -> None:
        self.screens[name] = {
            "screenshot": str(shot.relative_to(ROOT)),
            "violations": [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"]}
                           for v in violations],
        }

    def write(self) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / "axe-report.json"
        path.write_text(json.dumps(self.screens, indent=2) + "\n")
        return path


class Console:
    def __init__(self, page: Page, base_url: str, audit: Audit) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.audit = audit
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx answer as a failed resource (a refresh without a cookie, an error
        # state under test): the screens show those. Anything else logged as an error is a defect.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console error: {message.text}")

    # -- moving around -----------------------------------------------------------------

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base_url}/#{path}")
        self.settle()

    def nav(self, name: str) -> None:
        """Follow a link of the side navigation, as a person clicks it."""
        self.page.locator("aside").get_by_role("link", name=name, exact=True).click()
        self.settle()

    def settle(self, timeout: float = 30_000) -> None:
        """The screen has loaded: its chunk is in and nothing says "Loading" any more."""
        self.page.wait_for_function(
            "() => document.querySelector('main h1') && !document.querySelector('.state-loading, .boot')",
            timeout=timeout)

    def heading(self) -> str:
        return self.page.locator("main h1").inner_text()

    # -- accounts ------------------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> None:
        self.go("/signin")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("header.topbar")).to_be_visible(timeout=20_000)
        self.settle()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page.get_by_text("You are signed out.")).to_be_visible(timeout=15_000)

    # -- checking a screen ---------------------------------------------------------------

    def axe(self) -> list[dict[str, Any]]:
        # Evaluated through the DevTools protocol: the console's CSP (no inline script) stays on.
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
        result = self.page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                                                   iframes: false});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                               nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 200),
                                                                         summary: n.failureSummary}))}));
            }""", AXE_TAGS)
        return list(result)

    def check(self, name: str, *, full_page: bool = True) -> list[dict[str, Any]]:
        """Settle, audit with axe (0 serious/critical), save the screenshot. Returns all violations."""
        self.settle()
        violations = self.axe()
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{len(self.audit.screens) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        # The passing announcement ("Saved") would cover part of the screen in the picture. Hidden
        # through the CSSOM: an injected <style> is an inline style the console's CSP refuses.
        toast = "document.querySelectorAll('.toast').forEach(t => t.style.visibility = '{}')"
        self.page.evaluate(f"() => {toast.format('hidden')}")
        self.page.screenshot(path=str(shot), full_page=full_page)
        self.page.evaluate(f"() => {toast.format('')}")
        self.audit.record(name, violations, shot)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, f"axe on {name!r}: " + json.dumps(blocking, indent=1)[:3000]
        assert not self.errors, f"on {name!r}: {self.errors}"
        return violations
