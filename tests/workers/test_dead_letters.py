"""The dead-letter consumers: a message whose worker died on every delivery fails its item, once.

Real SQS (moto) and the local worker loop bound to the DLQs only (registry.DEAD_LETTER_QUEUES),
calling the very handlers app.py registers for them.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import boto3
import pytest

import app as app_module
from chalicelib import messages, registry, timeutil
from chalicelib.models.jobs import JobItem, job_key
from chalicelib.models.writer import Content
from chalicelib.services import credits
from chalicelib.services.pipeline import items
from chalicelib.services.pipeline.stages import get_stage
from chalicelib.services.state_machines import transition_ops
from infra.local.worker import WorkerLoop


@pytest.fixture
def site(api, register):
    owner = register()
    credits.grant(owner.account_id, credit_type="content", amount=100, key="t", bucket="pack",
                  operation="pack_purchase")
    site_id = api.post("/v1/sites", {"name": "Dead letters"}, token=owner.token).json["site_id"]
    sector = api.post(f"/v1/sites/{site_id}/sectors", {"name": "Brewing"}, token=owner.token).json["sector_id"]
    return owner, site_id, sector


def _dlq_loop(key: str) -> WorkerLoop:
    # a message given back is invisible for a second (SQS: the DLQ's visibility timeout)
    return WorkerLoop(app_module, queues=[registry.queue(f"{key}_dlq")], backoff=lambda receive_count: 1)


def _dead_letter(key: str, body: dict) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=registry.queue(key).dlq_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=messages.body(registry.queue(key).message.model_validate(body)))


def _left(key: str) -> int:
    return sum(_dlq_loop(key).pending().values())


def test_a_stage_dead_letter_waits_for_a_live_lease_then_fails_the_item_once(api, site):
    owner, site_id, sector = site
    base = f"/v1/sites/{site_id}"
    task = api.post(f"{base}/tasks", {"title": "Grinders", "sector_id": sector}, token=owner.token).json["task_id"]
    created = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": [task]}, token=owner.token).json
    item = JobItem.get(job_key(owner.account_id, created["job_id"]), task)
    items._claim(item, get_stage("generate_content"))  # a worker holds it, its lease live
    body = {"stage": "generate_content", "account_id": owner.account_id, "site_id": site_id,
            "job_id": created["job_id"], "item_id": task}
    _dead_letter("generate_content", body)

    loop = _dlq_loop("generate_content")
    loop.drain(until_empty=False)
    assert JobItem.get(item.job_key, task, consistent_read=True).status == "running"
    assert _left("generate_content") == 1  # given back: it comes again after the DLQ's visibility timeout

    timeutil.advance(registry.queue("generate_content").function_timeout + 1)  # the worker is dead by now
    time.sleep(1.1)
    loop.drain(until_empty=True)
    failed = JobItem.get(item.job_key, task, consistent_read=True)
    assert (failed.status, failed.error_code) == ("failed", "worker_died") and "Retry the item" in failed.error
    job = api.get(f"{base}/jobs/{created['job_id']}", token=owner.token).json
    assert (job["status"], job["failed"], job["done"]) == ("failed", 1, 0)

    _dead_letter("generate_content", body)  # the same dead letter again: nothing changes
    loop.drain(until_empty=True)
    assert api.get(f"{base}/jobs/{created['job_id']}", token=owner.token).json["failed"] == 1
    assert _left("generate_content") == 0
    retried = api.post(f"{base}/jobs/{created['job_id']}/retry", {}, token=owner.token).json
    assert retried["requeued"] == [task]


def _publishing(owner, site_id: str, sector: str, api, lease_left: timedelta) -> Content:
    created = api.post(f"/v1/sites/{site_id}/content", {"sector_id": sector, "title": "Kettles",
                                                         "body_html": "<p>x</p>"}, token=owner.token).json
    content = Content.get(f"{owner.account_id}#{site_id}", created["content_id"])
    now = timeutil.utcnow()
    actions, _ = transition_ops(content, {"site_status": "publishing"}, check=False, extra_actions=[
        Content.publish_lease_until.set(now + lease_left), Content.publish_attempt_id.set("attempt-1"),
        Content.scheduled_publish_at.set(now)])
    content.update(actions=actions)
    return content


def test_a_publish_dead_letter_fails_the_article_stuck_in_publishing_unless_a_worker_holds_it(api, site):
    owner, site_id, sector = site
    held = _publishing(owner, site_id, sector, api, timedelta(minutes=5))
    dead = _publishing(owner, site_id, sector, api, timedelta(minutes=-1))
    for content in (held, dead):
        _dead_letter("publish_content", {"account_id": owner.account_id, "site_id": site_id,
                                         "content_id": content.content_id})
    _dlq_loop("publish_content").drain(until_empty=False)
    held.refresh(consistent_read=True)
    dead.refresh(consistent_read=True)
    assert held.site_status == "publishing" and _left("publish_content") == 1
    assert dead.site_status == "failed" and dead.publish_error.startswith("worker_died:")
    r = api.post(f"/v1/sites/{site_id}/content/{dead.content_id}/publish/retry", {}, token=owner.token)
    assert r.status == 202, r.json


def test_an_unreadable_dead_letter_is_logged_and_let_go(api, site, caplog):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=registry.queue("generate_ideas").dlq_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"v": 99, "stage": "generate_ideas"}))
    _dlq_loop("generate_ideas").drain(until_empty=True)
    assert _left("generate_ideas") == 0
    assert any("unreadable dead letter" in r.getMessage() for r in caplog.records)
