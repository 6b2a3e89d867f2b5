"""The demo's automation step: a second customer whose site runs itself on a schedule.

``step_automation(demo)`` has the signature of the steps in ``infra/demo.py``. A new account
(free plan, its own credits) gets a site, a sector and keywords, and an automation config
that runs daily at 06:00 in the site's time zone with auto approve and auto publish. The
demo does not wait for 06:00: it moves the local stack's shared clock (the file named by
``stack.json``'s ``clock_file``) to just past the due time; the stack's automation tick then
starts the run, and the demo follows it stage by stage to articles in publishing slots.

Sized to the free plan (20 idea, 5 content, 10 image credits): a run is refused unless the
balance covers its estimate x1.2, so 40 keywords, 2 clusters -> ideas, 1 article, 1 article
illustrated.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib import timeutil

AUTOMATION = {"clustering_limit": 40, "ideas_limit": 2, "content_limit": 1, "image_limit": 1, "publish_limit": 1,
              "delay_between_operations": 0, "max_runtime": 1800, "auto_approve": True, "auto_publish": True,
              "stop_on_error": False, "is_active": True, "frequency": "daily", "run_time": "06:00"}
RUN_TIMEOUT = 300.0


def _failed(message: str, **kw: Any) -> Exception:
    from infra.demo import StepFailed  # imported late: demo imports this module

    return StepFailed(message, **kw)


def _customer(demo: Any) -> tuple[Any, str]:
    from infra.demo import Http
    from infra.demo_data import demo_keywords

    http = Http(demo.http.base_url)
    tag = uuid.uuid4().hex[:10]
    password = f"demo-password-{uuid.uuid4().hex}"
    body = http.post("/v1/auth/register", {"account_name": f"Autopilot Beans {tag}",
                                           "email": f"autopilot-{tag}@example.com", "password": password,
                                           "first_name": "Otto", "last_name": "Pilot"}, expect=201)
    http.token = http.post("/v1/auth/login", {"email": body["user"]["email"], "password": password})["access_token"]
    site = http.post("/v1/sites", {"name": "Autopilot Pour-over", "domain": "pourover.example.com",
                                   "time_zone": "America/New_York"}, expect=201)
    sector = http.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "Pour-over"}, expect=201)
    rows = demo_keywords()["Pour-over"][:AUTOMATION["clustering_limit"]]
    http.post(f"/v1/sites/{site['site_id']}/keywords/import", {"sector_id": sector["sector_id"], "keywords": rows})
    demo.counts["account"] += 1
    demo.counts["site"] += 1
    demo.counts["sector"] += 1
    demo.counts["keyword"] += len(rows)
    return http, site["site_id"]


def _clock_file(demo: Any) -> str:
    path = demo.stack.info().get("clock_file") if demo.stack is not None else None
    if not path:
        raise _failed("the local stack has no shared clock file (stack.json lacks clock_file); restart it")
    return path


def step_automation(demo: Any) -> str:
    from infra.demo import Progress

    http, site_id = _customer(demo)
    base = f"/v1/sites/{site_id}/automation"
    config = http.call("PATCH", f"{base}/config", AUTOMATION)
    due = datetime.fromisoformat(config["next_run_at"].replace("Z", "+00:00"))
    ahead = (due - datetime.now(UTC)).total_seconds() - _shared_offset(demo) + 1
    timeutil.advance_shared(_clock_file(demo), max(0.0, ahead))
    print(f"      automation: daily at {AUTOMATION['run_time']} (site time), next run {config['next_run_at']}, "
             f"estimate {config['estimate']}; clock moved {ahead / 3600:.1f} h ahead to it", flush=True)

    run = demo.wait_until("the automation tick to start the due run",
                          lambda: next(iter(http.get(f"{base}/runs")["items"]), None), timeout=60)
    if run["trigger"] != "schedule":
        raise _failed(f"the run was started by {run['trigger']}, not by the schedule")
    progress = Progress()
    started = time.monotonic()
    reported: set[str] = set()
    while True:
        run = http.get(f"{base}/runs/{run['run_id']}")
        for stage in run["stages"]:
            if stage["status"] in ("done", "skipped", "failed") and stage["name"] not in reported:
                reported.add(stage["name"])
                progress.say(f"{stage['name']:<23} {stage['status']:<7} {stage['done']}/{stage['total']} done, "
                             f"{stage['failed']} failed, {stage['credits']} credits"
                             + (f" - {stage['note']}" if stage.get("note") else ""))
        if run["status"] not in ("running", "paused"):
            break
        current = next((s for s in run["stages"] if s["name"] == run["current_stage"]), None)
        if current is not None:
            progress.update((current["name"], current["done"], current["failed"]),
                            f"{current['name']} {current['done']}/{current['total']} done "
                            f"({time.monotonic() - started:.0f}s)")
        if time.monotonic() - started > RUN_TIMEOUT:
            progress.clear()
            raise _failed(f"automation run {run['run_id']} still {run['status']} after {RUN_TIMEOUT:.0f}s "
                          f"(stage {run['current_stage']}); are the workers up?")
        time.sleep(0.5)
    progress.clear()
    if run["status"] != "completed":
        raise _failed(f"automation run {run['run_id']} ended {run['status']}: {run.get('error')}")
    content = http.get(f"/v1/sites/{site_id}/content?limit=100")["items"]
    scheduled = [c for c in content if c.get("site_status") == "scheduled"]
    if not scheduled:
        raise _failed("the automation run finished but no article is in a publishing slot")
    demo.counts["article"] += len(content)
    demo.http.calls += http.calls
    return (f"scheduled run {run['run_id']} completed in {time.monotonic() - started:.1f}s: "
            f"{len(content)} article(s), {len(scheduled)} in publishing slots "
            f"(first {scheduled[0].get('scheduled_publish_at')}), {run['credits_spent']} credits")


def _shared_offset(demo: Any) -> float:
    try:
        with open(_clock_file(demo), encoding="utf-8") as handle:
            return float(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0
