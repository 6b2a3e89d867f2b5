"""Fan-in: when a job that an automation run started finishes, tell the run (via its queue)."""

from __future__ import annotations

import json

from chalicelib import aws, registry
from chalicelib.models.jobs import Job


def job_finished(job: Job) -> None:
    body = {"type": "job_finished", "account_id": job.account_id, "site_id": job.site_id,
            "job_id": job.job_id, "run_id": job.run_id, "stage": job.stage}
    aws.client("sqs").send_message(QueueUrl=aws.queue_url(registry.queue("automation_events").name),
                                   MessageBody=json.dumps(body))
