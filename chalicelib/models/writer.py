"""Writer module: Task, Content (+ ContentBody), ContentImage (Site+Sector scoped, see site_records.py).

Article bodies can be tens of KB, so they live in their own table (``ContentBody``, same
key as the Content item) and the Content item stays a small summary: lists and their
indexes read and write about one capacity unit per item instead of the body's size, and
the body is read only by a GetItem when one article is opened. (An INCLUDE projection
of the summary would do the same for the indexes, but DynamoDB caps the attributes
projected into a table's indexes; eight indexes of summaries do not fit.)
"""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import KeysOnlyProjection

from chalicelib.models.base import FigureMapAttribute, TimestampedModel, table_meta
from chalicelib.models.planner import intent_key
from chalicelib.models.site_records import SiteRecord, Sparse, gsi, join_key
from chalicelib.models.site_scope import ChildOf, Partition

TASK_STATUSES = ("pending", "in_progress", "completed", "cancelled")
TASK_PRIORITIES = ("low", "medium", "high")
CONTENT_STATUSES = ("draft", "review", "approved", "published")
SITE_STATUSES = ("not_published", "scheduled", "publishing", "published", "failed")
IMAGE_STATUSES = ("pending", "generated", "failed")

# The "due" index is the one index not partitioned by account: the publishing tick reads
# it across all sites. Its hash is spread over a fixed number of shards so no partition
# gets hot; the tick queries every shard with scheduled_publish_at <= now.
DUE_SHARDS = 4
# Same idea for "approved and not scheduled, any site": the publishing tick slots it.
READY_SHARDS = DUE_SHARDS


def _shard(content_id: str, shards: int) -> int:
    return hashlib.sha256(content_id.encode()).digest()[0] % shards


def due_shard(content_id: str) -> str:
    return f"due#{_shard(content_id, DUE_SHARDS)}"


def ready_shard(content_id: str) -> str:
    return f"ready#{_shard(content_id, READY_SHARDS)}"


class Task(SiteRecord):
    Meta = table_meta("tasks")
    site_key = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute(range_key=True)
    sector_id = UnicodeAttribute()
    idea_id = UnicodeAttribute(null=True)
    cluster_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    brief = UnicodeAttribute(default="")
    primary_keyword = UnicodeAttribute(default="")
    secondary_keywords = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute(default="pending")
    priority = UnicodeAttribute(default="medium")
    assigned_to = UnicodeAttribute(null=True)
    due_date = UnicodeAttribute(null=True)  # ISO date
    created_by = UnicodeAttribute(null=True)
    # What its article follows (services.generation): beats the idea's, sector's and site's choices.
    content_type = UnicodeAttribute(null=True)
    author_profile_id = UnicodeAttribute(null=True)
    target_words = NumberAttribute(null=True)
    prompt_override = UnicodeAttribute(null=True)  # its own content_generation prompt
    # The author profile it resolves to (generation.effective_author): set on create and change,
    # refreshed when its article is written.
    effective_author = JSONAttribute(null=True)

    status_key = UnicodeAttribute(null=True)
    sector_key = UnicodeAttribute(null=True)
    sector_status_key = UnicodeAttribute(null=True)
    idea_key = UnicodeAttribute(null=True)

    by_status = gsi("by_status", "status_key", "task_id", by=("status",))
    by_sector = gsi("by_sector", "sector_key", "task_id", by=("sector_id",))
    by_sector_status = gsi("by_sector_status", "sector_status_key", "task_id", by=("sector_id", "status"))
    by_idea = gsi("by_idea", "idea_key", "task_id", by=("idea_id",))

    STATE_ATTRS = ("status", "sector_id", "idea_id")


# Approved and not yet scheduled: what the publisher slots next (oldest first).
READY = Sparse("ready", lambda state: state["status"] == "approved" and state["site_status"] == "not_published")


class Content(SiteRecord):
    Meta = table_meta("content")
    site_key = UnicodeAttribute(hash_key=True)
    content_id = UnicodeAttribute(range_key=True)
    sector_id = UnicodeAttribute()
    task_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    excerpt = UnicodeAttribute(default="")
    meta_title = UnicodeAttribute(default="")
    meta_description = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="draft")
    site_status = UnicodeAttribute(default="not_published")
    scheduled_publish_at = UTCDateTimeAttribute(null=True)
    site_status_updated_at = UTCDateTimeAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    external_url = UnicodeAttribute(null=True)
    word_count = NumberAttribute(default=0)
    created_by = UnicodeAttribute(null=True)
    keywords = ListAttribute(of=UnicodeAttribute, default=list)  # primary first; WordPress tags
    content_type = UnicodeAttribute(null=True)  # services.content_types key
    slug = UnicodeAttribute(null=True)
    faq = JSONAttribute(null=True)  # [{question, answer}]
    json_ld = JSONAttribute(null=True)  # [Article, FAQPage?] structured data
    language = UnicodeAttribute(null=True)  # BCP 47, the author profile's
    quality_warnings = ListAttribute(of=UnicodeAttribute, default=list)  # the length/structure check's
    # What generating it cost: the article, its image prompts and its images.
    # {credits, input_tokens, output_tokens, cached_tokens, images, provider, model}; the counted figures move
    # in the transaction of the charge they describe (services.pipeline.stages).
    cost = FigureMapAttribute(default=dict)
    # Publishing: the claim of the worker publishing it, and why the last attempt failed.
    publish_lease_until = UTCDateTimeAttribute(null=True)
    publish_attempt_id = UnicodeAttribute(null=True)
    publish_error = UnicodeAttribute(null=True)
    publish_slot = UnicodeAttribute(null=True)  # the SlotClaim (publish_slots range key) it holds
    external_modified_at = UTCDateTimeAttribute(null=True)

    list_key = UnicodeAttribute(null=True)  # = site key; lets the plain list read summaries only
    status_key = UnicodeAttribute(null=True)
    sector_key = UnicodeAttribute(null=True)
    sector_status_key = UnicodeAttribute(null=True)
    site_status_key = UnicodeAttribute(null=True)
    task_key = UnicodeAttribute(null=True)
    ready_key = UnicodeAttribute(null=True)  # sparse: approved and not yet scheduled
    ready_shard_key = UnicodeAttribute(null=True)  # sparse: the same, any site (global, sharded)
    # sparse: scheduled, or being published (a worker that died leaves its lease to expire;
    # the tick finds it here again). Global, sharded.
    due_key = UnicodeAttribute(null=True)
    intent_key = UnicodeAttribute(null=True)  # sparse: sector + normalised primary keyword (see ContentIdea)

    # The plain list reads by_site, never the table: bodies and publishing leases stay out of lists.
    by_site = gsi("by_site", "list_key", "content_id", by=())
    by_status = gsi("by_status", "status_key", "content_id", by=("status",))
    by_sector = gsi("by_sector", "sector_key", "content_id", by=("sector_id",))
    by_sector_status = gsi("by_sector_status", "sector_status_key", "content_id", by=("sector_id", "status"))
    by_site_status = gsi("by_site_status", "site_status_key", "content_id", by=("site_status",))
    by_task = gsi("by_task", "task_key", "content_id", by=("task_id",))
    ready_to_schedule = gsi("ready_to_schedule", "ready_key", "content_id", by=(), only=READY, forward=True)
    ready_any_site = gsi("ready_any_site", "ready_shard_key", "content_id")
    due = gsi("due", "due_key", "scheduled_publish_at", range_type=UTCDateTimeAttribute)
    by_intent = gsi("by_intent", "intent_key", "content_id", projection=KeysOnlyProjection())

    STATE_ATTRS = ("status", "site_status", "sector_id", "task_id", "scheduled_publish_at")
    KEY_INPUTS = ("keywords",)  # plain attributes index_keys also reads (intent_key)

    def other_keys(self, state: dict[str, Any]) -> dict[str, str | None]:
        ready = READY.test(state)
        due = state["site_status"] in ("scheduled", "publishing") and state["scheduled_publish_at"] is not None
        return {
            "ready_shard_key": ready_shard(self.content_id) if ready else None,
            "due_key": due_shard(self.content_id) if due else None,
            "intent_key": intent_key(self.site_key_value, state["sector_id"], (self.keywords or [""])[0]),
        }


class ContentBody(TimestampedModel):
    """The article HTML (sanitised) of the Content item with the same key."""

    Meta = table_meta("content_bodies")
    site_scope = Partition(lambda account_id, site_id: join_key(account_id, site_id))
    sector_scope = ChildOf(Content, lambda content: (content.site_key, content.content_id))
    site_key = UnicodeAttribute(hash_key=True)
    content_id = UnicodeAttribute(range_key=True)
    body_html = UnicodeAttribute(default="")


class ContentImage(SiteRecord):
    Meta = table_meta("content_images")
    site_key = UnicodeAttribute(hash_key=True)
    image_id = UnicodeAttribute(range_key=True)
    content_id = UnicodeAttribute()
    sector_id = UnicodeAttribute()
    url = UnicodeAttribute(null=True)
    thumbnail_url = UnicodeAttribute(null=True)
    alt_text = UnicodeAttribute(default="")
    caption = UnicodeAttribute(default="")
    image_type = UnicodeAttribute(default="in_article")  # featured, in_article
    is_featured = BooleanAttribute(default=False)
    position = NumberAttribute(default=0)
    prompt = UnicodeAttribute(default="")
    provider = UnicodeAttribute(null=True)
    storage_key = UnicodeAttribute(null=True)  # the file in the media bucket
    external_media_id = UnicodeAttribute(null=True)  # WordPress media id, once uploaded
    external_media_key = UnicodeAttribute(null=True)  # the key of the upload, stored before it is sent
    external_media_url = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="pending")
    created_by = UnicodeAttribute(null=True)

    content_key = UnicodeAttribute(null=True)
    status_key = UnicodeAttribute(null=True)
    sector_key = UnicodeAttribute(null=True)

    # A content's images in position order.
    by_content = gsi("by_content", "content_key", "position", by=("content_id",), forward=True,
                     range_type=NumberAttribute)
    by_status = gsi("by_status", "status_key", "image_id", by=("status",))
    by_sector = gsi("by_sector", "sector_key", "image_id", by=("sector_id",))

    STATE_ATTRS = ("status", "sector_id", "content_id")
