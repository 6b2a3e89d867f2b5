"""``make demo``: start the local stack, walk the product over real HTTP, stop, summarise.

The demo is a list of steps. Each step is a function ``step(demo) -> str`` that calls the
API through ``demo.http``, keeps what later steps need in ``demo.facts``, counts what it
made in ``demo.counts`` (these feed the summary line) and returns one line saying what it
did. To extend the demo (publishing ...) write more steps and add them to ``STEPS``;
``run_job`` starts a generation stage and follows it with a progress line,
``demo.wait_until`` polls for other work that the workers finish in the background.

After the account, site and keywords, the generation pipeline runs on the stack's workers
(offline AI): cluster every keyword, ideas for the biggest clusters, approve them, tasks,
an article, its image prompts and images, then the credits spent are checked against the
balance. The new account is on the free plan; see "the generation pipeline" below for how
the demo is sized to its credits.

Exit code 0 and a one-line summary on success; on a failed step, the HTTP error body and a
non-zero exit code. The stack is always stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from infra.demo_automation import step_automation
from infra.demo_data import step_import_keywords
from infra.demo_links import step_links_and_scores
from infra.demo_people import step_invite_teammate
from infra.demo_publish import step_publish
from infra.local.console import demo_sign_in
from infra.local.processes import ROOT, BackgroundStack


class StepFailed(Exception):
    """A call answered something other than expected; carries what the API said."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class Http:
    """A small JSON client: ``call`` raises StepFailed unless the status is one of ``expect``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.token: str | None = None
        self.calls = 0

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             expect: int | Sequence[int] = 200, headers: dict[str, str] | None = None) -> Any:
        expected = (expect,) if isinstance(expect, int) else tuple(expect)
        hdrs = {"Accept": "application/json", **(headers or {})}
        bearer = token if token is not None else self.token
        if bearer:
            hdrs["Authorization"] = f"Bearer {bearer}"
        self.calls += 1
        try:
            r = self.session.request(method, f"{self.base_url}{path}", json=body, headers=hdrs, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StepFailed(f"{method} {path}: {exc}") from None
        if r.status_code not in expected:
            raise StepFailed(f"{method} {path} answered {r.status_code}, expected {'/'.join(map(str, expected))}",
                             status=r.status_code, body=r.text)
        if not r.content:
            return None
        if "json" in r.headers.get("Content-Type", ""):
            return r.json()
        return r.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


@dataclass
class Demo:
    http: Http
    stack: BackgroundStack | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def wait_until(self, what: str, check: Callable[[], Any], *, timeout: float = 60.0,
                   interval: float = 0.5) -> Any:
        """Poll ``check`` until it returns something truthy (background work), else fail the step."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise StepFailed(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)


# -- the steps ----------------------------------------------------------------------------

def step_health(demo: Demo) -> str:
    body = demo.http.get("/v1/health")
    docs = demo.http.get("/v1/openapi.json")
    return f"API {body['status']}, {len(docs.get('paths', {}))} paths documented at /v1/docs"


def step_register(demo: Demo) -> str:
    tag = uuid.uuid4().hex[:10]
    email, password = f"demo-{tag}@example.com", f"demo-password-{uuid.uuid4().hex}"
    body = demo.http.post("/v1/auth/register", {
        "account_name": f"Demo Roastery {tag}", "email": email, "password": password,
        "first_name": "Dana", "last_name": "Demo"}, expect=201)
    demo.facts.update(email=email, password=password, account_id=body["account"]["account_id"],
                      user_id=body["user"]["user_id"])
    demo.counts["account"] += 1
    return f"account {body['account']['account_id']} ({body['account']['name']}), owner {email}"


def step_login(demo: Demo) -> str:
    tokens = demo.http.post("/v1/auth/login", {"email": demo.facts["email"], "password": demo.facts["password"]})
    demo.http.token = tokens["access_token"]
    demo.facts["refresh_token"] = tokens["refresh_token"]
    return f"signed in as {demo.facts['email']} ({tokens['token_type']} token, {tokens['expires_in']}s)"


def step_create_site(demo: Demo) -> str:
    site = demo.http.post("/v1/sites", {"name": "Demo Coffee Blog", "domain": "coffee.example.com",
                                        "time_zone": "Europe/Berlin"}, expect=201)
    demo.facts["site_id"] = site["site_id"]
    demo.counts["site"] += 1
    return f"site {site['site_id']} {site['name']!r} ({site['domain']}, {site['time_zone']})"


def step_create_sector(demo: Demo) -> str:
    site_id = demo.facts["site_id"]
    sector = demo.http.post(f"/v1/sites/{site_id}/sectors", {
        "name": "Espresso at home", "description": "Machines, grinders and technique"}, expect=201)
    demo.facts["sector_id"] = sector["sector_id"]
    demo.counts["sector"] += 1
    return f"sector {sector['sector_id']} {sector['name']!r}"


def step_me(demo: Demo) -> str:
    me = demo.http.get("/v1/me")
    if me["account"]["account_id"] != demo.facts["account_id"]:
        raise StepFailed("/v1/me answered for another account", body=json.dumps(me))
    account, plan = me["account"], me["plan"]
    return (f"{me['user']['email']} is {me['user']['role']} of {account['name']!r}: plan {plan['name']}, "
            f"{account['site_count']}/{plan['max_sites']} sites, {account['user_count']}/{plan['max_users']} users")


# -- the generation pipeline --------------------------------------------------------------
#
# A new account is on the free plan: 20 idea, 5 content and 10 image credits. A job is
# refused (402) unless the balance covers its estimate x1.2, so the demo is sized to fit:
# - clustering is estimated at 1 idea credit per 8 keywords: all 250 keywords in one job
#   would need 38, so they go in jobs of 64 (estimate 8, 10 with the margin). What a job
#   really costs is its tokens (about 1 credit per job offline), so 4 jobs fit.
# - ideas: 1 idea credit per cluster; 4 clusters x 2 ideas.
# - articles: 2 content credits each and their image prompts 1; a second article would
#   leave 1 credit, less than the prompts' estimate with the margin (2). So 1 article.
# - images: 1 image credit each (the default image model); the estimate counts 4 per
#   article (max_images), 5 with the margin, of the 10.
CLUSTER_CHUNK = 64
IDEA_CLUSTERS = 4
IDEAS_PER_CLUSTER = 2
ARTICLES = 1
JOB_TIMEOUT = 180.0

STAGE_LABEL = {"cluster_keywords": "clustering", "generate_ideas": "ideas", "create_tasks": "tasks",
               "generate_content": "writing", "generate_image_prompts": "image prompts",
               "generate_images": "images"}
STAGE_CREDIT_TYPE = {"cluster_keywords": "idea", "generate_ideas": "idea", "generate_content": "content",
                     "generate_image_prompts": "content", "generate_images": "image"}


class Progress:
    """One live line per job: rewritten in place on a terminal; otherwise a plain line when
    the counts change (at most every ``every`` seconds, and at least every ``heartbeat``)."""

    def __init__(self, stream: Any = None, *, every: float = 1.0, heartbeat: float = 5.0) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every, self.heartbeat = every, heartbeat
        self._last_state: object = None
        self._last_time = -1e9
        self._open = False

    def update(self, state: object, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r      {text}\033[K")
            self._open = True
        else:
            since = time.monotonic() - self._last_time
            if (state != self._last_state and since >= self.every) or since >= self.heartbeat:
                self.stream.write(f"      {text}\n")
                self._last_state, self._last_time = state, time.monotonic()
        self.stream.flush()

    def finish(self, state: object, text: str) -> None:
        """The final counts: cleared on a terminal (the step's line follows), printed otherwise."""
        if self.tty:
            self.clear()
        elif state != self._last_state:
            self.stream.write(f"      {text}\n")
            self.stream.flush()

    def say(self, line: str) -> None:
        """A line that stays (e.g. a failed item), printed above the live line."""
        self.clear()
        self.stream.write(f"      {line}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._open:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._open = False


def _progress(job: dict[str, Any], seconds: float, label: str | None = None) -> tuple[tuple[Any, ...], str]:
    label = label or STAGE_LABEL.get(job["stage"], job["stage"])
    text = f"{label} {job['done']}/{job['total']} done, {job['failed']} failed"
    if job.get("skipped"):
        text += f", {job['skipped']} skipped"
    state = (job["done"], job["failed"], job["skipped"], job["credits_spent"])
    return state, f"{text}, {_plural(job['credits_spent'], 'credit')} ({seconds:.1f}s)"


def run_job(demo: Demo, stage: str, *, item_ids: list[str] | None = None,
            job_filter: dict[str, Any] | None = None, timeout: float = JOB_TIMEOUT,
            require_done: bool = True, label: str | None = None) -> dict[str, Any]:
    """Start a stage, follow it to the end with a progress line, report failed items.

    Returns the finished job with its done items' results (``job["results"]``). Failed
    items are printed and the demo goes on; a job where nothing succeeded fails the step
    (unless ``require_done`` is false: the caller judges several jobs together).
    """
    site = f"/v1/sites/{demo.facts['site_id']}"
    body: dict[str, Any] = {"stage": stage}
    if item_ids:
        body["item_ids"] = item_ids
    if job_filter:
        body["filter"] = job_filter
    job = demo.http.post(f"{site}/jobs", body, expect=202)
    progress = Progress()
    started = time.monotonic()
    deadline = started + timeout
    while True:
        job = demo.http.get(f"{site}/jobs/{job['job_id']}")
        state, text = _progress(job, time.monotonic() - started, label)
        if job["status"] != "running":
            break
        progress.update(state, text)
        if time.monotonic() > deadline:
            progress.clear()
            raise StepFailed(f"{stage} job {job['job_id']} still running after {timeout:.0f}s "
                             f"({job['done']}/{job['total']} done); are the workers up?")
        time.sleep(0.25)
    progress.finish(state, text)
    for item in job.get("failed_items", []):
        progress.say(f"! {STAGE_LABEL.get(stage, stage)} item {item['item_id']} failed "
                     f"({item.get('error_code') or 'error'}): {item.get('error')}")
    job["results"] = _done_results(demo, site, job["job_id"])
    job["seconds"] = time.monotonic() - started
    demo.facts.setdefault("jobs", []).append(job)
    if require_done and not job["done"]:
        raise StepFailed(f"{stage} job {job['job_id']} ended {job['status']} with nothing done "
                         f"({job['failed']} failed, {job['skipped']} skipped)", body=json.dumps(job))
    return job


def _done_results(demo: Demo, site: str, job_id: str) -> list[dict[str, Any]]:
    return [item["result"] | {"item_id": item["item_id"]}
            for item in _all_pages(demo, f"{site}/jobs/{job_id}/items?status=done")]


def _all_pages(demo: Demo, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    while True:
        page = demo.http.get(f"{path}{sep}limit=100" + (f"&cursor={quote(cursor, safe='')}" if cursor else ""))
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def _credit_note(job: dict[str, Any]) -> str:
    return _plural(job["credits_spent"], f"{STAGE_CREDIT_TYPE.get(job['stage'], '?')} credit")


def step_cluster_keywords(demo: Demo) -> str:
    site = f"/v1/sites/{demo.facts['site_id']}"
    demo.facts["credits_before"] = demo.http.get("/v1/credits")["balances"]
    chunks: list[list[str]] = []
    for sector_id in demo.facts["keyword_sectors"].values():
        pending = [k["keyword_id"] for k in _all_pages(demo, f"{site}/keywords?sector_id={sector_id}&status=pending")]
        chunks += [pending[i:i + CLUSTER_CHUNK] for i in range(0, len(pending), CLUSTER_CHUNK)]
    if not chunks:
        raise StepFailed("no pending keywords to cluster")
    jobs = [run_job(demo, "cluster_keywords", item_ids=chunk, require_done=False,
                    label=f"clustering job {n}/{len(chunks)} ({len(chunk)} keywords):")
            for n, chunk in enumerate(chunks, 1)]
    if not any(job["done"] for job in jobs):
        raise StepFailed(f"none of the {len(jobs)} clustering jobs clustered anything")
    results = [r for job in jobs for r in job["results"]]
    clusters = _all_pages(demo, f"{site}/clusters")
    demo.facts["clusters"] = clusters
    demo.counts["cluster"] += len(clusters)
    clustered = sum(r.get("keywords_clustered", 0) for r in results)
    joined = sum(r.get("joined_existing", 0) for r in results)
    outliers = sum(r.get("outliers", 0) for r in results)
    credits = sum(job["credits_spent"] for job in jobs)
    return (f"{sum(map(len, chunks))} keywords in {len(jobs)} jobs of <= {CLUSTER_CHUNK}: {len(clusters)} clusters, "
            f"{clustered} keywords clustered ({joined} joined an earlier job's cluster), {outliers} outliers left "
            f"pending; {_plural(credits, 'idea credit')}")


def step_generate_ideas(demo: Demo) -> str:
    biggest = sorted(demo.facts["clusters"], key=lambda c: (-c["keyword_count"], c["cluster_id"]))[:IDEA_CLUSTERS]
    job = run_job(demo, "generate_ideas", item_ids=[c["cluster_id"] for c in biggest],
                  job_filter={"ideas_per_cluster": IDEAS_PER_CLUSTER})
    created = sum(r.get("ideas_created", 0) for r in job["results"])
    duplicates = sum(len(r.get("duplicates", [])) for r in job["results"])
    demo.counts["idea"] += created
    names = ", ".join(repr(c["name"]) for c in biggest)
    return (f"{created} ideas for the {len(biggest)} biggest clusters ({names}); {duplicates} dropped as "
            f"duplicates of existing intents; {_credit_note(job)}")


def step_approve_ideas(demo: Demo) -> str:
    site = f"/v1/sites/{demo.facts['site_id']}"
    ideas = _all_pages(demo, f"{site}/ideas?status=pending")
    for idea in ideas:
        demo.http.patch(f"{site}/ideas/{idea['idea_id']}", {"status": "approved"})
    demo.facts["approved_ideas"] = [i["idea_id"] for i in ideas]
    if not ideas:
        raise StepFailed("no pending ideas to approve")
    return f"approved {_plural(len(ideas), 'idea')}, e.g. {ideas[0]['title']!r}"


def step_create_tasks(demo: Demo) -> str:
    job = run_job(demo, "create_tasks", item_ids=demo.facts["approved_ideas"])
    demo.facts["task_ids"] = [r["task_id"] for r in job["results"] if r.get("task_id")]
    demo.counts["task"] += len(demo.facts["task_ids"])
    return f"{_plural(len(demo.facts['task_ids']), 'writing task')} from the approved ideas (no credits)"


def step_write_articles(demo: Demo) -> str:
    site = f"/v1/sites/{demo.facts['site_id']}"
    job = run_job(demo, "generate_content", item_ids=demo.facts["task_ids"][:ARTICLES])
    content_ids = [r["content_id"] for r in job["results"] if r.get("content_id")]
    demo.facts["content_ids"] = content_ids
    demo.counts["article"] += len(content_ids)
    first = demo.http.get(f"{site}/content/{content_ids[0]}")
    return (f"{_plural(len(content_ids), 'article')} of {len(demo.facts['task_ids'])} tasks (the free plan's "
            f"content credits), e.g. {first['title']!r}, {first['word_count']} words; {_credit_note(job)}")


def step_image_prompts(demo: Demo) -> str:
    job = run_job(demo, "generate_image_prompts", item_ids=demo.facts["content_ids"])
    prompts = sum(r.get("image_prompts", 0) for r in job["results"])
    return f"{_plural(prompts, 'image prompt')} for {_plural(job['done'], 'article')}; {_credit_note(job)}"


def step_render_images(demo: Demo) -> str:
    site = f"/v1/sites/{demo.facts['site_id']}"
    job = run_job(demo, "generate_images", item_ids=demo.facts["content_ids"])
    rendered = sum(r.get("images_rendered", 0) for r in job["results"])
    demo.counts["image"] += rendered
    images = _all_pages(demo, f"{site}/images?content_id={demo.facts['content_ids'][0]}")
    generated = sum(1 for i in images if i["status"] == "generated")
    return (f"{_plural(rendered, 'image')} rendered and stored ({generated}/{len(images)} of the first "
            f"article's images generated); {_credit_note(job)}")


def step_credits(demo: Demo) -> str:
    before = demo.facts.get("credits_before", {})
    balance = demo.http.get("/v1/credits")
    after = balance["balances"]
    spent = {t: before[t]["available"] - after[t]["available"] for t in after if t in before}
    by_jobs: Counter[str] = Counter()
    for job in demo.facts.get("jobs", []):
        by_jobs[STAGE_CREDIT_TYPE.get(job["stage"], "?")] += job["credits_spent"]
    if any(spent.get(t, 0) != n for t, n in by_jobs.items()) or sum(spent.values()) != sum(by_jobs.values()):
        raise StepFailed(f"the balance moved by {spent} but the jobs say they spent {dict(by_jobs)}")
    demo.facts["credits_spent"] = {t: n for t, n in spent.items() if n}
    left = ", ".join(f"{t} {after[t]['available']}" for t in after if t in STAGE_CREDIT_TYPE.values())
    return (f"spent {_credit_breakdown(demo.facts['credits_spent'])}, as the jobs counted; "
            f"left ({balance.get('plan_id') or 'no'} plan): {left}")


def _credit_breakdown(spent: dict[str, int]) -> str:
    detail = ", ".join(f"{t} {n}" for t, n in spent.items())
    return f"{_plural(sum(spent.values()), 'credit')} ({detail or 'none'})"


STEPS: list[Callable[[Demo], str]] = [
    step_health,
    step_register,
    step_login,
    step_create_site,
    step_create_sector,
    step_import_keywords,
    step_cluster_keywords,
    step_generate_ideas,
    step_approve_ideas,
    step_create_tasks,
    step_write_articles,
    step_image_prompts,
    step_render_images,
    step_links_and_scores,
    step_publish,
    step_credits,
    step_automation,
    step_invite_teammate,
    step_me,
]


# -- running ------------------------------------------------------------------------------

def _title(step: Callable[[Demo], str]) -> str:
    return step.__name__.removeprefix("step_").replace("_", " ")


def run_steps(demo: Demo, steps: Sequence[Callable[[Demo], str]]) -> None:
    for n, step in enumerate(steps, 1):
        started = time.perf_counter()
        try:
            line = step(demo)
        except StepFailed as exc:
            raise StepFailed(f"step {n}/{len(steps)} ({_title(step)}): {exc}", status=exc.status,
                             body=exc.body) from None
        print(f"  [{n}/{len(steps)}] {_title(step):<16} {line}  ({(time.perf_counter() - started) * 1000:.0f} ms)",
              flush=True)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary(demo: Demo, api_seconds: float, stack_seconds: float, total_seconds: float | None = None) -> str:
    made = ", ".join(_plural(n, noun) for noun, n in demo.counts.items() if noun != "account")
    account = demo.facts.get("account_id", "?")
    spent = demo.facts.get("credits_spent")
    credits = f", {_credit_breakdown(spent)} spent" if spent is not None else ""
    total = f"; total {total_seconds:.1f}s" if total_seconds is not None else ""
    return (f"demo: account {account} ({demo.facts.get('email', '?')}), {made}{credits}, API ok in "
            f"{api_seconds:.1f}s ({demo.http.calls} calls; stack up in {stack_seconds:.1f}s{total})")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m infra.demo", description="Run the product locally and walk it.")
    p.add_argument("--dynamodb", choices=("moto", "local"), default="moto", help="passed to the local stack")
    p.add_argument("--state-dir", type=Path, default=ROOT / ".local" / "demo",
                   help="the demo stack's state and log (default .local/demo)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the stack to come up")
    args = p.parse_args(argv)

    started = time.monotonic()
    print("demo: starting the local stack (moto, API, workers, clock) on free ports ...", flush=True)
    stack = BackgroundStack.start(state_dir=args.state_dir.resolve(),
                                  extra_args=["--dynamodb", args.dynamodb, "--clock-speed", "60"])
    failed = False
    try:
        try:
            stack.wait_healthy(timeout=args.timeout)
        except (TimeoutError, RuntimeError) as exc:
            print(f"demo: the local stack did not start: {exc}\n--- {stack.log_path} (tail) ---\n"
                  f"{stack.log_tail()}", file=sys.stderr, flush=True)
            failed = True
            return 1
        stack_seconds = time.monotonic() - started
        print(f"demo: stack up in {stack_seconds:.1f}s, API {stack.api_url}/v1 (docs {stack.api_url}/v1/docs)",
              flush=True)
        demo = Demo(Http(stack.api_url), stack)
        api_started = time.monotonic()
        try:
            run_steps(demo, STEPS)
        except StepFailed as exc:
            print(f"demo: FAILED {exc}", file=sys.stderr)
            if exc.body:
                print(f"demo: the API answered: {exc.body}", file=sys.stderr)
            print(f"demo: stack log: {stack.log_path}", file=sys.stderr, flush=True)
            failed = True
            return 1
        api_seconds = time.monotonic() - api_started
    finally:
        code = stack.interrupt()
        if code not in (0, None) and not failed:
            print(f"demo: the local stack exited with code {code}; see {stack.log_path}", file=sys.stderr)
    print(summary(demo, api_seconds, stack_seconds, time.monotonic() - started), flush=True)
    print(f"demo: {demo_sign_in()}", flush=True)
    return 0 if code in (0, None) else 1


if __name__ == "__main__":
    sys.exit(main())
