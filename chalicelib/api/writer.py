"""/v1/sites/{site_id}/tasks, /content and /images (module="writer")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field, computed_field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.api.site_scoped import MAX_BULK, BulkIds, BulkOut, Id, bulk_out, changes, require_site
from chalicelib.auth.roles import Role
from chalicelib.services import html, records, writer

bp = Blueprint(__name__)
TASK_TAGS, CONTENT_TAGS, IMAGE_TAGS = ["tasks"], ["content"], ["images"]
MODULE = "writer"

TaskStatus = Literal["pending", "in_progress", "completed", "cancelled"]
Priority = Literal["low", "medium", "high"]
ContentStatus = Literal["draft", "review", "approved", "published"]
SiteStatus = Literal["not_published", "scheduled", "publishing", "published", "failed"]
ImageStatus = Literal["pending", "generated", "failed"]
Url = Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")]
Keyword = Annotated[str, Field(max_length=255)]


# --- tasks ------------------------------------------------------------------------------

class TaskFields(Body):
    title: str | None = Field(None, min_length=1, max_length=255)
    brief: str | None = Field(None, max_length=20000)
    primary_keyword: str | None = Field(None, max_length=255)
    secondary_keywords: list[Keyword] | None = Field(None, max_length=50)
    priority: Priority | None = None
    assigned_to: Id | None = None
    due_date: date | None = None


class TaskCreate(TaskFields):
    title: str = Field(min_length=1, max_length=255)
    sector_id: Id | None = Field(None, description="Required unless idea_id is given (then the idea's)")
    idea_id: Id | None = None


class TaskUpdate(TaskFields):
    status: TaskStatus | None = None


class TaskOut(Out):
    task_id: str
    site_id: str
    sector_id: str
    idea_id: str | None
    cluster_id: str | None
    title: str
    brief: str
    primary_keyword: str
    secondary_keywords: list[str]
    status: str
    priority: str
    assigned_to: str | None
    due_date: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class TaskListQuery(ListQuery):
    sector_id: Id | None = None
    status: TaskStatus | None = None
    idea_id: Id | None = None


class BulkTaskStatus(Body):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)
    status: TaskStatus


def _task_data(body: BaseModel, nullable: set[str] = frozenset()) -> dict[str, Any]:
    data = changes(body, nullable)
    if data.get("due_date") is not None:
        data["due_date"] = data["due_date"].isoformat()
    return data


@route(bp, "/v1/sites/{site_id}/tasks", "GET", summary="List writing tasks (newest first; by sector, status, "
       "idea)", tags=TASK_TAGS, query=TaskListQuery, response=Page[TaskOut], module=MODULE)
def list_tasks(req: Req, site_id: str) -> Page[TaskOut]:
    require_site(req, site_id)
    q = req.query
    page = records.list_page(writer.TASKS, req.account_id, site_id,
                             {"sector_id": q.sector_id, "status": q.status, "idea_id": q.idea_id},
                             limit=q.limit, cursor=q.cursor)
    return Page[TaskOut](items=[TaskOut.model_validate(t) for t in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/tasks", "POST", summary="Create a writing task", tags=TASK_TAGS, body=TaskCreate,
       response=TaskOut, status=201, role=Role.editor, module=MODULE)
def create_task(req: Req, site_id: str) -> TaskOut:
    require_site(req, site_id)
    task = writer.create_task(req.account_id, site_id, _task_data(req.body), created_by=req.tenant.user_id)
    return TaskOut.model_validate(task)


@route(bp, "/v1/sites/{site_id}/tasks/{task_id}", "GET", summary="Get a task", tags=TASK_TAGS, response=TaskOut,
       module=MODULE)
def get_task(req: Req, site_id: str, task_id: str) -> TaskOut:
    require_site(req, site_id)
    return TaskOut.model_validate(writer.get_task(req.account_id, site_id, task_id))


@route(bp, "/v1/sites/{site_id}/tasks/{task_id}", "PATCH", summary="Change a task (fields, status)",
       tags=TASK_TAGS, body=TaskUpdate, response=TaskOut, role=Role.editor, module=MODULE)
def update_task(req: Req, site_id: str, task_id: str) -> TaskOut:
    require_site(req, site_id)
    changes = _task_data(req.body, {"assigned_to", "due_date"})
    return TaskOut.model_validate(writer.update_task(req.account_id, site_id, task_id, changes))


@route(bp, "/v1/sites/{site_id}/tasks/{task_id}", "DELETE", summary="Delete a task: its content is kept "
       "without a task", tags=TASK_TAGS, response=Deleted, role=Role.editor, module=MODULE)
def delete_task(req: Req, site_id: str, task_id: str) -> Deleted:
    require_site(req, site_id)
    writer.delete_task(req.account_id, site_id, task_id)
    return Deleted(id=task_id)


@route(bp, "/v1/sites/{site_id}/tasks/bulk-status", "POST", summary="Change the status of many tasks",
       tags=TASK_TAGS, body=BulkTaskStatus, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_task_status(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    new = req.body.status
    outcome = records.bulk_each(writer.TASKS, req.account_id, site_id, req.body.ids,
                                lambda t: writer.update_task(req.account_id, site_id, t.task_id, {"status": new}))
    return bulk_out(outcome)


@route(bp, "/v1/sites/{site_id}/tasks/bulk-delete", "POST", summary="Delete many tasks (same cascade)",
       tags=TASK_TAGS, body=BulkIds, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_delete_tasks(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(writer.TASKS, req.account_id, site_id, req.body.ids,
                                lambda t: writer.delete_task(req.account_id, site_id, t.task_id))
    return bulk_out(outcome)


# --- content ----------------------------------------------------------------------------

class ContentFields(Body):
    title: str | None = Field(None, min_length=1, max_length=255)
    body_html: str | None = Field(None, max_length=1_000_000, description="HTML; sanitised on the way in")
    excerpt: str | None = Field(None, max_length=1000)
    meta_title: str | None = Field(None, max_length=255)
    meta_description: str | None = Field(None, max_length=1000)


class ContentCreate(ContentFields):
    title: str = Field(min_length=1, max_length=255)
    sector_id: Id | None = Field(None, description="Required unless task_id is given (then the task's)")
    task_id: Id | None = None
    status: Literal["draft", "review"] | None = None


class ContentUpdate(ContentFields):
    status: ContentStatus | None = None
    site_status: Literal["scheduled", "not_published"] | None = Field(
        None, description="Schedule (with scheduled_publish_at; content must be approved) or unschedule. "
                          "The publisher sets publishing, published and failed.")
    scheduled_publish_at: datetime | None = None


class MetaWarning(BaseModel):
    field: str
    code: str
    message: str
    length: int | None = None
    limit: int | None = None


class ContentSummaryOut(Out):
    content_id: str
    site_id: str
    sector_id: str
    task_id: str | None
    title: str
    excerpt: str
    meta_title: str
    meta_description: str
    status: str
    site_status: str
    scheduled_publish_at: datetime | None
    site_status_updated_at: datetime | None
    external_id: str | None
    external_url: str | None
    word_count: int
    keywords: list[str] = Field(default_factory=list)
    cost: dict[str, Any] = Field(default_factory=dict,
                                 description="What generating it cost: credits, tokens, images.")
    publish_error: str | None = None
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warnings(self) -> list[MetaWarning]:
        return [MetaWarning(**w) for w in html.meta_warnings(self.meta_title, self.meta_description)]


class ContentOut(ContentSummaryOut):
    body_html: str


class ContentListQuery(ListQuery):
    sector_id: Id | None = None
    status: ContentStatus | None = None
    site_status: SiteStatus | None = None
    task_id: Id | None = None


class BulkContentStatus(Body):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)
    status: ContentStatus


@route(bp, "/v1/sites/{site_id}/content", "GET", summary="List content summaries (newest first; by sector, "
       "status, site_status, task; status=approved&site_status=not_published: ready to schedule, oldest first)",
       tags=CONTENT_TAGS, query=ContentListQuery, response=Page[ContentSummaryOut], module=MODULE)
def list_content(req: Req, site_id: str) -> Page[ContentSummaryOut]:
    require_site(req, site_id)
    q = req.query
    page = writer.list_content(req.account_id, site_id, {"sector_id": q.sector_id, "status": q.status,
                                                         "site_status": q.site_status, "task_id": q.task_id},
                               limit=q.limit, cursor=q.cursor)
    return Page[ContentSummaryOut](items=[ContentSummaryOut.model_validate(c) for c in page.items],
                                   next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/content", "POST", summary="Create an article (HTML sanitised, words counted)",
       tags=CONTENT_TAGS, body=ContentCreate, response=ContentOut, status=201, role=Role.editor, module=MODULE)
def create_content(req: Req, site_id: str) -> ContentOut:
    require_site(req, site_id)
    content = writer.create_content(req.account_id, site_id, req.body.model_dump(), created_by=req.tenant.user_id)
    return ContentOut.model_validate(content)


@route(bp, "/v1/sites/{site_id}/content/{content_id}", "GET", summary="Get an article with its body",
       tags=CONTENT_TAGS, response=ContentOut, module=MODULE)
def get_content(req: Req, site_id: str, content_id: str) -> ContentOut:
    require_site(req, site_id)
    return ContentOut.model_validate(writer.get_content(req.account_id, site_id, content_id, with_body=True))


@route(bp, "/v1/sites/{site_id}/content/{content_id}", "PATCH", summary="Change an article (fields, status, "
       "schedule)", tags=CONTENT_TAGS, body=ContentUpdate, response=ContentOut, role=Role.editor, module=MODULE)
def update_content(req: Req, site_id: str, content_id: str) -> ContentOut:
    require_site(req, site_id)
    writer.update_content(req.account_id, site_id, content_id, changes(req.body))
    return ContentOut.model_validate(writer.get_content(req.account_id, site_id, content_id, with_body=True))


@route(bp, "/v1/sites/{site_id}/content/{content_id}", "DELETE", summary="Delete an article and its images "
       "(409 while scheduled or publishing)", tags=CONTENT_TAGS, response=Deleted, role=Role.editor, module=MODULE)
def delete_content(req: Req, site_id: str, content_id: str) -> Deleted:
    require_site(req, site_id)
    writer.delete_content(req.account_id, site_id, content_id)
    return Deleted(id=content_id)


@route(bp, "/v1/sites/{site_id}/content/bulk-status", "POST", summary="Change the status of many articles",
       tags=CONTENT_TAGS, body=BulkContentStatus, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_content_status(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(writer.CONTENT, req.account_id, site_id, req.body.ids,
                                lambda c: writer.set_content_status(c, req.body.status))
    return bulk_out(outcome)


@route(bp, "/v1/sites/{site_id}/content/bulk-delete", "POST", summary="Delete many articles (and their images)",
       tags=CONTENT_TAGS, body=BulkIds, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_delete_content(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(writer.CONTENT, req.account_id, site_id, req.body.ids,
                                lambda c: writer.delete_content(req.account_id, site_id, c.content_id))
    return bulk_out(outcome)


# --- images -----------------------------------------------------------------------------

class ImageFields(Body):
    url: Url | None = None
    thumbnail_url: Url | None = None
    alt_text: str | None = Field(None, max_length=255)
    caption: str | None = Field(None, max_length=2000)
    image_type: Literal["featured", "in_article"] | None = None
    is_featured: bool | None = None
    position: int | None = Field(None, ge=0, le=1000)
    prompt: str | None = Field(None, max_length=4000)
    provider: str | None = Field(None, max_length=50)


class ImageCreate(ImageFields):
    content_id: Id
    status: ImageStatus | None = Field(None, description="Default: generated with a url, else pending")


class ImageUpdate(ImageFields):
    status: ImageStatus | None = None


class ImageOut(Out):
    image_id: str
    site_id: str
    sector_id: str
    content_id: str
    url: str | None
    thumbnail_url: str | None
    alt_text: str
    caption: str
    image_type: str
    is_featured: bool
    position: int
    prompt: str
    provider: str | None
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ImageListQuery(ListQuery):
    sector_id: Id | None = None
    status: ImageStatus | None = None
    content_id: Id | None = Field(None, description="The content's images in position order")


class BulkImageStatus(Body):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)
    status: ImageStatus


@route(bp, "/v1/sites/{site_id}/images", "GET", summary="List images (newest first; by sector, status; by "
       "content in position order)", tags=IMAGE_TAGS, query=ImageListQuery, response=Page[ImageOut], module=MODULE)
def list_images(req: Req, site_id: str) -> Page[ImageOut]:
    require_site(req, site_id)
    q = req.query
    page = records.list_page(writer.IMAGES, req.account_id, site_id,
                             {"sector_id": q.sector_id, "status": q.status, "content_id": q.content_id},
                             limit=q.limit, cursor=q.cursor)
    return Page[ImageOut](items=[ImageOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/images", "POST", summary="Add an image to an article", tags=IMAGE_TAGS,
       body=ImageCreate, response=ImageOut, status=201, role=Role.editor, module=MODULE)
def create_image(req: Req, site_id: str) -> ImageOut:
    require_site(req, site_id)
    image = writer.create_image(req.account_id, site_id, req.body.model_dump(), created_by=req.tenant.user_id)
    return ImageOut.model_validate(image)


@route(bp, "/v1/sites/{site_id}/images/{image_id}", "GET", summary="Get an image", tags=IMAGE_TAGS,
       response=ImageOut, module=MODULE)
def get_image(req: Req, site_id: str, image_id: str) -> ImageOut:
    require_site(req, site_id)
    return ImageOut.model_validate(writer.get_image(req.account_id, site_id, image_id))


@route(bp, "/v1/sites/{site_id}/images/{image_id}", "PATCH", summary="Change an image (fields, status)",
       tags=IMAGE_TAGS, body=ImageUpdate, response=ImageOut, role=Role.editor, module=MODULE)
def update_image(req: Req, site_id: str, image_id: str) -> ImageOut:
    require_site(req, site_id)
    fields = changes(req.body, {"url", "thumbnail_url", "provider"})
    return ImageOut.model_validate(writer.update_image(req.account_id, site_id, image_id, fields))


@route(bp, "/v1/sites/{site_id}/images/{image_id}", "DELETE", summary="Delete an image", tags=IMAGE_TAGS,
       response=Deleted, role=Role.editor, module=MODULE)
def delete_image(req: Req, site_id: str, image_id: str) -> Deleted:
    require_site(req, site_id)
    writer.delete_image(req.account_id, site_id, image_id)
    return Deleted(id=image_id)


@route(bp, "/v1/sites/{site_id}/images/bulk-status", "POST", summary="Change the status of many images",
       tags=IMAGE_TAGS, body=BulkImageStatus, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_image_status(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    new = req.body.status
    outcome = records.bulk_each(writer.IMAGES, req.account_id, site_id, req.body.ids,
                                lambda i: writer.update_image(req.account_id, site_id, i.image_id, {"status": new}))
    return bulk_out(outcome)


@route(bp, "/v1/sites/{site_id}/images/bulk-delete", "POST", summary="Delete many images", tags=IMAGE_TAGS,
       body=BulkIds, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_delete_images(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(writer.IMAGES, req.account_id, site_id, req.body.ids,
                                lambda i: writer.delete_image(req.account_id, site_id, i.image_id))
    return bulk_out(outcome)
