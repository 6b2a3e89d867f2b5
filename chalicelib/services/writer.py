"""Writer domain: tasks, content (articles), content images.

Cascade rules (docs/planner-writer.md):
- delete task: its content is kept, detached (task_id null).
- delete content: its images are deleted; refused (409 content_scheduled) while the
  content is scheduled or being published -- unschedule it first.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chalicelib.errors import Conflict, NotFound, PayloadTooLarge, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import site_key
from chalicelib.models.batch import Key, get_many
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import Transaction
from chalicelib.models.writer import READY, Content, ContentBody, ContentImage, Task
from chalicelib.services import content_types, generation, html, prompts, records, sites, txn
from chalicelib.services.planner import IDEAS
from chalicelib.services.publishing import auto, reservations
from chalicelib.services.records import Kind, Records
from chalicelib.services.state_machines import state_condition, transition, transition_ops
from chalicelib.timeutil import utcnow

TASKS = Kind("task", Task)
CONTENT = Kind("content", Content)
IMAGES = Kind("image", ContentImage)

MAX_BODY_BYTES = 300_000  # well under DynamoDB's 400 KB item limit, with the other fields


def _conn():
    return txn.shared_connection(Content)


def _parent_sector(given: str | None, parent_sector: str | None) -> str:
    """The sector of a new record: its parent's, else the one given (checked in the create's transaction)."""
    if parent_sector:
        if given and given != parent_sector:
            raise UnprocessableEntity("The sector must be the parent's sector.", code="sector_mismatch")
        return parent_sector
    if not given:
        raise UnprocessableEntity("Give a sector_id (or a parent record).", code="sector_required",
                                  details=[{"field": "sector_id", "message": "required"}])
    return given


def _iso_dates(fields: dict[str, Any]) -> dict[str, Any]:
    """Dates as the ISO strings they are stored as."""
    return {k: v.isoformat() if isinstance(v, date) and not isinstance(v, datetime) else v for k, v in fields.items()}


# --- tasks ------------------------------------------------------------------------------

def _generation_fields(account_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A task's generation choices, each checked (422 naming the field)."""
    if fields.get("content_type") is not None:
        fields["content_type"] = content_types.validate(fields["content_type"])
    if "author_profile_id" in fields:
        # A task's own profile shows at once; without one it is resolved (sector, site, account,
        # platform) and shown when its article is written, so a create costs no extra reads.
        profile_id = fields["author_profile_id"]
        fields["effective_author"] = generation.task_author(account_id, profile_id) if profile_id else None
    if fields.get("prompt_override"):
        prompts.check_override(fields["prompt_override"])
    return fields


def get_task(account_id: str, site_id: str, task_id: str) -> Task:
    return records.get(TASKS, account_id, site_id, task_id)


def create_task(account_id: str, site_id: str, data: dict[str, Any], *, created_by: str | None = None,
                record_id: str | None = None) -> Task:
    idea = records.parent(IDEAS, account_id, site_id, data.get("idea_id"))
    sector_id = _parent_sector(data.get("sector_id"), idea.sector_id if idea else None)
    fields = _generation_fields(account_id, _iso_dates({k: v for k, v in data.items()
                                                         if k not in ("sector_id",) and v is not None}))
    if idea:
        fields.setdefault("content_type", content_types.get(idea.content_type).key)
        fields.setdefault("cluster_id", idea.cluster_id)
        fields.setdefault("primary_keyword", idea.primary_keyword)
        fields.setdefault("secondary_keywords", list(idea.secondary_keywords or []))
    task = Task(site_key(account_id, site_id), record_id or new_id(), account_id=account_id, site_id=site_id,
                sector_id=sector_id, created_by=created_by, **fields)
    task.sync_index_keys()
    tx = records.check_sector(Transaction("create task"), account_id, site_id, sector_id)
    records.commit_create(tx.put(task, condition=Task.task_id.does_not_exist(), label="task"),
                          account_id, site_id, sector_id)
    return task


def update_task(account_id: str, site_id: str, task_id: str, changes: dict[str, Any]) -> Task:
    return records.change(get_task(account_id, site_id, task_id), _generation_fields(account_id, _iso_dates(changes)),
                          TASKS, set_status)


def set_status(item: Task | ContentImage, new: str) -> None:
    """A task's or an image's status (content has ``set_content_status``)."""
    transition(item, "status", new)


def delete_task(account_id: str, site_id: str, task_id: str) -> None:
    task = get_task(account_id, site_id, task_id)
    units = []
    for content in Content.by_task.query(join_key(task.site_key, task_id)):
        # Index items carry the summary attributes, which include every state attribute.
        actions, condition = transition_ops(content, {"task_id": None}, check=False)
        units.append(txn.Unit(content.content_id, [txn.Op("update", content, condition, actions)]))
    txn.run_units(units, _conn())
    with conditional(otherwise=Conflict("The task changed while deleting it; try again.", code="concurrent_change")):
        task.delete(condition=state_condition(task))


# --- content ----------------------------------------------------------------------------

def get_content(account_id: str, site_id: str, content_id: str, *, with_body: bool = False) -> Content:
    if not with_body:
        return records.get(CONTENT, account_id, site_id, content_id)
    key = site_key(account_id, site_id)
    summary, body = Key(Content, key, content_id), Key(ContentBody, key, content_id)
    found = get_many([summary, body])  # the article and its body in one round trip
    content = found[summary]
    if content is None:
        raise NotFound(CONTENT.title)
    sites.check_writable([content])
    content.body_html = found[body].body_html if found[body] is not None else ""
    return content


def find_content(account_id: str, site_id: str, content_id: str, *, with_body: bool = False) -> Content | None:
    """The content, or None (workers and webhooks, where a missing record is not an error)."""
    try:
        return get_content(account_id, site_id, content_id, with_body=with_body)
    except NotFound:
        return None


def list_content(account_id: str, site_id: str, filters: dict[str, Any], *, limit: int,
                 cursor: str | None) -> Page:
    active = {k: v for k, v in filters.items() if v is not None}
    if set(active) == {"status", "site_status"}:  # the one combination: ready to schedule (oldest first)
        if not READY.test(active):
            raise UnprocessableEntity("status and site_status combine only as approved + not_published "
                                      "(content ready to schedule).", code="unsupported_filter")
        active = {READY.flag: True}
    return records.list_page(CONTENT, account_id, site_id, active, limit=limit, cursor=cursor)


def _body_fields(body_html: str) -> dict[str, Any]:
    clean = html.sanitize(body_html)
    if len(clean.encode()) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The article body is larger than {MAX_BODY_BYTES // 1000} KB.", code="body_too_large")
    return {"body_html": clean, "word_count": html.word_count(clean)}


def create_content(account_id: str, site_id: str, data: dict[str, Any], *, created_by: str | None = None,
                   record_id: str | None = None) -> Content:
    task = records.parent(TASKS, account_id, site_id, data.get("task_id"))
    sector_id = _parent_sector(data.get("sector_id"), task.sector_id if task else None)
    fields = {k: v for k, v in data.items() if k not in ("sector_id", "body_html") and v is not None}
    fields["content_type"] = content_types.validate(fields.get("content_type") or getattr(task, "content_type", None)
                                                    or content_types.DEFAULT)
    body = _body_fields(data.get("body_html") or "")
    content = Content(site_key(account_id, site_id), record_id or new_id(), account_id=account_id, site_id=site_id,
                      sector_id=sector_id, created_by=created_by, word_count=body["word_count"], **fields)
    content.sync_index_keys()
    stored = ContentBody(content.site_key, content.content_id, body_html=body["body_html"])
    tx = records.check_sector(Transaction("create content"), account_id, site_id, sector_id)
    tx.put(content, condition=Content.content_id.does_not_exist(), label="content")
    tx.put(stored, condition=ContentBody.content_id.does_not_exist(), label="body")
    records.commit_create(tx, account_id, site_id, sector_id)
    content.body_html = body["body_html"]
    return content


def update_content(account_id: str, site_id: str, content_id: str, changes: dict[str, Any], *,
                   with_body: bool = False) -> Content:
    """Change an article's fields, status and schedule; ``with_body``: answer as read afresh, with its body."""
    content = get_content(account_id, site_id, content_id)
    status = changes.pop("status", None)
    site_status = changes.pop("site_status", None)
    scheduled_at = changes.pop("scheduled_publish_at", None)
    if "body_html" in changes:
        _replace_body(content, changes.pop("body_html") or "")
    if changes.get("content_type") is not None:
        changes["content_type"] = content_types.validate(changes["content_type"])
    records.set_fields(content, changes, CONTENT)
    if status is not None:
        set_content_status(content, status)
        if site_status is not None:
            content.refresh()  # approving may have given it a slot already (auto publish)
    if site_status is not None:
        set_site_status(content, site_status, scheduled_at)
    elif scheduled_at is not None:
        raise UnprocessableEntity("scheduled_publish_at goes with site_status 'scheduled'.",
                                  code="schedule_requires_status")
    return get_content(account_id, site_id, content_id, with_body=True) if with_body else content


def _replace_body(content: Content, body_html: str) -> None:
    """New body and its word count in one transaction: a list never shows a stale count."""
    body = _body_fields(body_html)
    tx = Transaction("replace body")
    tx.put(ContentBody(content.site_key, content.content_id, body_html=body["body_html"]), label="body")
    tx.update(content, [Content.word_count.set(body["word_count"])], condition=Content.content_id.exists(),
              label="content")
    with conditional(otherwise=NotFound("Content")):
        tx.commit()
    content.word_count = body["word_count"]


def set_content_status(content: Content, new: str) -> Content:
    if new == content.status:
        return content
    if content.site_status in ("scheduled", "publishing") and new != "published":
        raise Conflict("Unschedule the content (site_status 'not_published') before changing its status.",
                       code="content_scheduled", details={"site_status": content.site_status})
    transition(content, "status", new)
    if new == "approved":
        auto.on_content_approved(content)  # auto publish: a slot right away (best effort)
    return content


def set_site_status(content: Content, new: str, scheduled_at: datetime | None = None) -> Content:
    """Users schedule and unschedule; the publisher moves the rest (publishing, published, failed).

    Scheduling goes through the publishing service: a time chosen here is a reservation that
    counts against that day's, week's and month's limits (409 publish_limit_reached), like
    every other way of scheduling, so no route can get around the limits.
    """
    if new == "scheduled":
        if content.status != "approved":
            raise Conflict("Only approved content can be scheduled.", code="content_not_approved",
                           details={"current_status": content.status})
        if scheduled_at is None:
            raise UnprocessableEntity("Give scheduled_publish_at to schedule (or POST .../schedule for the next "
                                      "free slot).", code="schedule_time_required")
        return reservations.schedule_at(content, scheduled_at)
    if new == content.site_status:
        return content
    if new == "not_published" and content.site_status in ("scheduled", "failed"):
        reservations.release(content)  # frees the slot and the counters in the same write
        content.refresh()
        return content
    return transition(content, "site_status", new, also={"site_status_updated_at": utcnow()})


def delete_content(account_id: str, site_id: str, content_id: str) -> None:
    content = get_content(account_id, site_id, content_id)
    if content.site_status in ("scheduled", "publishing"):
        raise Conflict("This content is scheduled or being published; unschedule it before deleting it.",
                       code="content_scheduled", details={"site_status": content.site_status})
    if content.site_status == "failed":  # it still holds its slot and counters: give them back first
        reservations.release(content)
        content.refresh()
    images = list(ContentImage.by_content.query(join_key(content.site_key, content_id)))
    with ContentImage.batch_write() as batch:
        for image in images:
            batch.delete(image)
    tx = Transaction("delete content")
    tx.delete(content, condition=state_condition(content), label="content")
    tx.delete(ContentBody(content.site_key, content_id), label="body")
    with conditional(otherwise=Conflict("The content changed while deleting it; try again.",
                                        code="concurrent_change")):
        tx.commit()


# --- images -----------------------------------------------------------------------------

def get_image(account_id: str, site_id: str, image_id: str) -> ContentImage:
    return records.get(IMAGES, account_id, site_id, image_id)


def create_image(account_id: str, site_id: str, data: dict[str, Any], *, created_by: str | None = None,
                 record_id: str | None = None) -> ContentImage:
    content = records.parent(CONTENT, account_id, site_id, data["content_id"])
    fields = {k: v for k, v in data.items() if v is not None}
    if fields.get("position") is None:
        last = list(ContentImage.by_content.query(join_key(content.site_key, content.content_id),
                                                  scan_index_forward=False, limit=1))
        fields["position"] = int(last[0].position) + 1 if last else 0
    if fields.get("url") and "status" not in fields:
        fields["status"] = "generated"
    image = ContentImage(site_key(account_id, site_id), record_id or new_id(), account_id=account_id, site_id=site_id,
                         sector_id=content.sector_id, created_by=created_by, **fields)
    image.sync_index_keys()
    tx = records.check_sector(Transaction("create image"), account_id, site_id, content.sector_id)
    records.commit_create(tx.put(image, condition=ContentImage.image_id.does_not_exist(), label="image"),
                          account_id, site_id, content.sector_id)
    return image


def update_image(account_id: str, site_id: str, image_id: str, changes: dict[str, Any]) -> ContentImage:
    return records.change(get_image(account_id, site_id, image_id), changes, IMAGES, set_status)


def delete_image(account_id: str, site_id: str, image_id: str) -> None:
    image = get_image(account_id, site_id, image_id)
    image.delete()


# --- the operations the record routes serve (api.resources) ---------------------------

TASK_RECORDS = Records(TASKS, create=create_task, get=get_task, update=update_task, delete=delete_task,
                       set_status=set_status)
CONTENT_RECORDS = Records(
    CONTENT, create=create_content, delete=delete_content, set_status=set_content_status, list=list_content,
    get=lambda account_id, site_id, content_id: get_content(account_id, site_id, content_id, with_body=True),
    update=lambda account_id, site_id, content_id, changes: update_content(account_id, site_id, content_id,
                                                                           changes, with_body=True))
IMAGE_RECORDS = Records(IMAGES, create=create_image, get=get_image, update=update_image, delete=delete_image,
                        set_status=set_status)
