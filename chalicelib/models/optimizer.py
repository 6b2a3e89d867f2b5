"""Optimizer module: ContentRevision, an article's body as it was before the optimizer (or a restore) changed it.

``revision_id = content_id#<UUIDv7>``: an article's revisions are one Query, newest first.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.models.base import table_meta
from chalicelib.models.site_records import SiteRecord, gsi


class ContentRevision(SiteRecord):
    Meta = table_meta("content_revisions")
    site_key = UnicodeAttribute(hash_key=True)
    revision_id = UnicodeAttribute(range_key=True)  # content_id#<revision uuid>
    content_id = UnicodeAttribute()
    sector_id = UnicodeAttribute()
    reason = UnicodeAttribute(default="optimize")  # optimize, restore
    job_id = UnicodeAttribute(null=True)
    # The article before the change (what a restore puts back) and the score before and after it.
    title = UnicodeAttribute(default="")
    meta_title = UnicodeAttribute(default="")
    meta_description = UnicodeAttribute(default="")
    body_html = UnicodeAttribute(default="")
    score_before = NumberAttribute(null=True)
    score_after = NumberAttribute(null=True)
    diff = UnicodeAttribute(default="")  # unified diff of the visible text, before -> after
    status = UnicodeAttribute(default="kept")

    sector_key = UnicodeAttribute(null=True)

    by_sector = gsi("by_sector", "sector_key", "revision_id", by=("sector_id",))

    STATE_ATTRS = ("status", "sector_id")
