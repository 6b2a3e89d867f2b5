"""Approval as the site configures it, for articles written by jobs started by hand.

A site's ``auto_approval_enabled`` (publishing settings) moves a newly written article to
approved; approving gives it a publishing slot when auto publish is on and WordPress is
connected (``writer.set_content_status``). Jobs of an automation run leave this to the run's
review stage, which follows the run's own ``auto_approve``.
"""

from __future__ import annotations

from chalicelib.errors import Conflict
from chalicelib.models.jobs import Job
from chalicelib.services import writer
from chalicelib.services.publishing.settings import get_settings


def after_generation(job: Job, content_id: str) -> str | None:
    """Approve the job's new article if the site says so; its status afterwards (None: gone)."""
    if job.run_id:
        return None
    content = writer.find_content(job.account_id, job.site_id, content_id)
    if content is None:
        return None
    if content.status == "draft" and get_settings(job.account_id, job.site_id).auto_approval_enabled:
        try:
            writer.set_content_status(content, "approved")
        except Conflict:  # changed by a person meanwhile: theirs stands
            pass
    return content.status


