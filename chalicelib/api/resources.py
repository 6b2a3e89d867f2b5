"""A site's records as resources: their CRUD routes generated from one declaration.

``site_resource(route, Resource(...))`` declares, under ``/v1/sites/{site_id}/<path>``:

    GET    /<path>                  list (filters: the list query's fields; Page of list_out)
    POST   /<path>                  create (201)
    GET    /<path>/{<id>}           get
    PATCH  /<path>/{<id>}           change the fields sent (null clears the ``nullable`` ones)
    DELETE /<path>/{<id>}           delete
    POST   /<path>/bulk-status      move many to one status (when the resource has ``statuses``)
    POST   /<path>/bulk-delete      delete many

``route`` is the blueprint's ``routes(bp, scope="site", module=...)``: the site, its guard and
the module switch come with it. What a route does is the record kind's service operations
(``services.records.Records``); routes that are not plain CRUD are written by hand beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, create_model

from chalicelib.api.routing import Req
from chalicelib.api.schemas import Body, Deleted, Id, ListQuery, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.services import records

MAX_BULK = 100


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


@dataclass(frozen=True)
class Resource:
    path: str  # "keywords": /v1/sites/{site_id}/keywords
    records: records.Records
    out: type[BaseModel]
    create: type[Body]
    update: type[Body]
    query: type[ListQuery]
    summaries: dict[str, str]  # list, create, get, update, delete, bulk_status, bulk_delete
    list_out: type[BaseModel] | None = None  # default: out
    statuses: Any = None  # the Literal bulk-status takes (None: no bulk-status route)
    nullable: frozenset[str] = frozenset()  # fields a PATCH may clear with null
    max_bulk: int = MAX_BULK
    tags: list[str] = field(default_factory=list)

    @property
    def singular(self) -> str:
        return self.records.kind.name

    @property
    def plural(self) -> str:
        return self.path.replace("-", "_")


def site_resource(route: Callable[..., Any], res: Resource) -> None:
    """Declare the resource's routes with the blueprint's ``route``."""
    base = f"/v1/sites/{{site_id}}/{res.path}"
    one = f"{base}/{{{res.records.kind.id_attr}}}"
    ops, kind = res.records, res.records.kind
    tags, editor = res.tags or [res.path], Role.editor
    list_out = res.list_out or res.out
    filters = [name for name in res.query.model_fields if name not in ListQuery.model_fields]
    title = kind.name.title()

    def list_records(req: Req, site_id: str) -> Any:
        q = req.query
        return ops.list_page(req.account_id, site_id, {name: getattr(q, name) for name in filters},
                             limit=q.limit, cursor=q.cursor)

    def create_record(req: Req, site_id: str) -> Any:
        return ops.create(req.account_id, site_id, req.body.model_dump(), created_by=req.tenant.user_id)

    def get_record(req: Req, site_id: str, **ids: str) -> Any:
        return ops.get(req.account_id, site_id, ids[kind.id_attr])

    def update_record(req: Req, site_id: str, **ids: str) -> Any:
        return ops.update(req.account_id, site_id, ids[kind.id_attr], changes(req.body, nullable=res.nullable))

    def delete_record(req: Req, site_id: str, **ids: str) -> Deleted:
        ops.delete(req.account_id, site_id, ids[kind.id_attr])
        return Deleted(id=ids[kind.id_attr])

    def bulk_status(req: Req, site_id: str) -> BulkOut:
        return bulk_out(ops.change_status(req.account_id, site_id, req.body.ids, req.body.status))

    def bulk_delete(req: Req, site_id: str) -> BulkOut:
        return bulk_out(ops.delete_many(req.account_id, site_id, req.body.ids))

    declared = [
        ("list", list_records, f"list_{res.plural}", base, "GET",
         dict(query=res.query, response=Page[list_out])),
        ("create", create_record, f"create_{kind.name}", base, "POST",
         dict(body=res.create, response=res.out, status=201, role=editor)),
        ("get", get_record, f"get_{kind.name}", one, "GET", dict(response=res.out)),
        ("update", update_record, f"update_{kind.name}", one, "PATCH",
         dict(body=res.update, response=res.out, role=editor)),
        ("delete", delete_record, f"delete_{kind.name}", one, "DELETE", dict(response=Deleted, role=editor)),
    ]
    if res.statuses is not None:
        body = create_model(f"Bulk{title}Status", __base__=Body,
                            ids=(list[Id], Field(min_length=1, max_length=res.max_bulk)), status=(res.statuses, ...))
        declared.append(("bulk_status", bulk_status, f"bulk_{kind.name}_status", f"{base}/bulk-status", "POST",
                         dict(body=body, response=BulkOut, role=editor)))
    ids_body = BulkIds if res.max_bulk == MAX_BULK else create_model(
        f"Bulk{title}Ids", __base__=Body, ids=(list[Id], Field(min_length=1, max_length=res.max_bulk)))
    declared.append(("bulk_delete", bulk_delete, f"bulk_delete_{res.plural}", f"{base}/bulk-delete", "POST",
                     dict(body=ids_body, response=BulkOut, role=editor)))
    for operation, handler, name, path, method, options in declared:
        handler.__name__ = handler.__qualname__ = name
        route(path, method, summary=res.summaries[operation], tags=tags, **options)(handler)
