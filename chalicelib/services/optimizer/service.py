"""The optimizer's operations: start the optimize stage on chosen articles, list and restore revisions."""

from __future__ import annotations

from typing import Any

from chalicelib.models.jobs import Job
from chalicelib.models.optimizer import ContentRevision
from chalicelib.services import writer
from chalicelib.services.optimizer import revisions
from chalicelib.services.pipeline import jobs
from chalicelib.services.publishing.republish import republish

STAGE = "optimize_content"


def start(account_id: str, site_id: str, content_ids: list[str], *, user_id: str | None = None) -> Job:
    return jobs.create_job(account_id, site_id, STAGE, {"content_ids": content_ids}, user_id=user_id)


def list_revisions(account_id: str, site_id: str, content_id: str) -> list[ContentRevision]:
    return revisions.list_revisions(writer.get_content(account_id, site_id, content_id))


def restore(account_id: str, site_id: str, content_id: str, revision_id: str, *,
            request_id: str | None = None) -> dict[str, Any]:
    content = writer.get_content(account_id, site_id, content_id, with_body=True)
    result = revisions.restore(content, revision_id, request_id=request_id)
    writer.reindex_content(content)
    republish([content])  # already on WordPress: the restored article goes there too
    return result
