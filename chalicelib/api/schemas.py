"""Request/response shapes shared by every module's routes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import UnprocessableEntity

T = TypeVar("T")

# A record id in a body: an empty or odd one never reaches DynamoDB as a key.
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]

# A pragmatic e-mail check (no DNS, no extra dependency): one @, a dotted domain.
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                             examples=["ana@example.com"])]


# defer_build: a model's validator and serializer are built when it is first used, not when its
# module is imported, so the first request to a module pays only for the models it touches.


class Body(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(25, ge=1, le=100, description="Items per page (1-100).")
    cursor: str | None = Field(None, max_length=2048, description="Opaque cursor from the previous page.")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null at the end.")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Deleted(BaseModel):
    deleted: bool = True
    id: str


def changes(body: BaseModel, *, nullable: Iterable[str] = (), refuse_null: bool = False) -> dict[str, Any]:
    """The fields a PATCH sent. An explicit null clears a field of ``nullable``; on any other
    field it is left out, or with ``refuse_null`` refused (422 naming the fields)."""
    clearable = frozenset(nullable)
    data = body.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in data.items() if value is None and name not in clearable)
    if nulls and refuse_null:
        raise UnprocessableEntity("These fields cannot be null: " + ", ".join(nulls) + ".",
                                  details=[{"field": name, "message": "cannot be null"} for name in nulls])
    return {name: value for name, value in data.items() if name not in nulls}
