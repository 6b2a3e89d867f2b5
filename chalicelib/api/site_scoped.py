"""Shapes and helpers shared by the Site+Sector scoped blueprints (planner, writer)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from chalicelib.api.routing import Req
from chalicelib.api.schemas import Body
from chalicelib.services import records, sites

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
MAX_BULK = 100


def require_site(req: Req, site_id: str) -> Any:
    """The caller's site or 404; every site-scoped route calls this before anything else."""
    return sites.get_site(req.account_id, site_id)


def changes(body: BaseModel, nullable: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields a PATCH sent; an explicit null clears only the attributes that may be null."""
    data = body.model_dump(exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}


class BulkIds(Body):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)


class BulkFailure(BaseModel):
    id: str
    code: str
    message: str
    current_status: str | None = None


class BulkOut(BaseModel):
    succeeded: list[str]
    failed: list[BulkFailure]


def bulk_out(outcome: records.BulkOutcome) -> BulkOut:
    return BulkOut(succeeded=outcome.succeeded, failed=[BulkFailure(**f) for f in outcome.failed])
