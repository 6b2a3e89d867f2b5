"""The demo's publishing step: settings, approval, slots, and a real WordPress when one is configured.

``step_publish(demo)`` has the signature of the steps in ``infra/demo.py``. It needs
``demo.facts["site_id"]`` and the generated articles in ``demo.facts["content_ids"]``.

With ``WP_URL``, ``WP_USERNAME`` and ``WP_APP_PASSWORD`` in the environment it connects that
WordPress through the API (the connection is tested and the site's structure synced), publishes
the first article now, waits for the publish worker and reports the post's URL; the other
articles get the next free slots. Without them it schedules every article into the next free
slots and says how to connect a WordPress.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

WP_ENV = ("WP_URL", "WP_USERNAME", "WP_APP_PASSWORD")
SETTINGS = {"daily_publish_limit": 3, "weekly_publish_limit": 15, "monthly_publish_limit": 50,
            "publish_days": ["mon", "tue", "wed", "thu", "fri"], "publish_time_slots": ["09:00", "14:00", "18:00"]}
HOW_TO_CONNECT = ("to publish for real, create an Application Password in WordPress (Users > Profile > "
                  "Application Passwords) and run again with WP_URL, WP_USERNAME and WP_APP_PASSWORD set")


def _failed(message: str, **kw: Any) -> Exception:
    from infra.demo import StepFailed  # the demo's own error type (imported late: demo imports this module)

    return StepFailed(message, **kw)


def wordpress_from_env(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    env = os.environ if environ is None else environ
    values = {name: (env.get(name) or "").strip() for name in WP_ENV}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _failed(f"set all of {', '.join(WP_ENV)} to publish to WordPress ({', '.join(missing)} missing)")
    return {"url": values["WP_URL"], "username": values["WP_USERNAME"], "app_password": values["WP_APP_PASSWORD"]}


def _local(text: str | None) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).strftime("%a %d %b %H:%M")


def step_publish(demo: Any) -> str:
    site = f"/v1/sites/{demo.facts['site_id']}"
    http = demo.http
    content_ids = list(demo.facts.get("content_ids") or [])
    if not content_ids:
        raise _failed("no articles to publish (the writing step made none)")
    settings = http.call("PUT", f"{site}/publishing/settings", SETTINGS)
    wordpress = wordpress_from_env()
    connected = None
    if wordpress is not None:
        connected = http.post(f"{site}/integrations", wordpress, expect=201)
        demo.facts["wordpress"] = connected["url"]
        demo.counts["wordpress site"] += 1
    for content_id in content_ids:
        article = http.get(f"{site}/content/{content_id}")
        if article["status"] in ("draft", "review"):
            # Approving is enough when WordPress is connected and auto publish is on: it gets a slot.
            http.patch(f"{site}/content/{content_id}", {"status": "approved"})
    published = None
    if connected is not None:
        first = content_ids[0]
        http.post(f"{site}/content/{first}/publish", expect=202)

        def finished() -> dict[str, Any] | None:
            article = http.get(f"{site}/content/{first}")
            return article if article["site_status"] in ("published", "failed") else None

        done = demo.wait_until("the publish worker", finished, timeout=120)
        if done["site_status"] != "published":
            raise _failed(f"publishing to {connected['url']} failed: {done.get('publish_error')}")
        published = done
        demo.counts["published post"] += 1
    scheduled = []
    for content_id in content_ids:
        article = http.get(f"{site}/content/{content_id}")
        if article["site_status"] == "not_published" and article["status"] == "approved":
            article = http.post(f"{site}/content/{content_id}/schedule", {}, expect=(200, 409))
            if "error" in article:
                continue
        if article.get("site_status") == "scheduled":
            scheduled.append(article)
    demo.counts["scheduled article"] += len(scheduled)
    calendar = http.get(f"{site}/calendar")
    taken = [s for s in calendar["slots"] if s["state"] != "free"]
    week = (f"calendar {calendar['time_zone']}: {len(taken)}/{len(calendar['slots'])} slots of the next 7 days "
            f"taken ({settings['daily_publish_limit']}/day, {settings['weekly_publish_limit']}/week, "
            f"{settings['monthly_publish_limit']}/month, {', '.join(settings['publish_time_slots'])})")
    when = "; ".join(f"{a['title'][:40]!r} at {_local(_slot_local(calendar, a))}" for a in scheduled[:3])
    if published is not None:
        return (f"connected {connected['url']} ({len(connected['categories'])} categories, plugin "
                f"{'on' if connected['plugin_active'] else 'off'}); published {published['title'][:50]!r} at "
                f"{published['external_url']}; {len(scheduled)} more scheduled{': ' + when if when else ''}; {week}")
    return f"{len(scheduled)} article(s) scheduled{': ' + when if when else ''}; {week}; {HOW_TO_CONNECT}"


def _slot_local(calendar: dict[str, Any], article: dict[str, Any]) -> str | None:
    for entry in calendar.get("entries", []):
        if entry["content_id"] == article["content_id"]:
            return entry["local_time"]
    return article.get("scheduled_publish_at")
