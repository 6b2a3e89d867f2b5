"""Routes of a record kind that exists at two scopes: the platform's and each account's.

Prompts and author profiles exist once for the platform (scope ``global``, managed by staff under
``/v1/admin/...``) and once per account (scope = the account id, managed by the account's admins
under ``/v1/account/...``). Each is one model keyed by scope and one service whose functions take
the scope first; a ``ScopedResource`` declares both route sets, and ``declare`` generates them, so
the two cannot drift apart. The scope comes from the route, never from the request: ``global``
behind staff-only routes, else the caller's verified account id.

Generated handlers, per verb (``service`` functions take the scope first):

    list    GET    <prefix>/<collection>        service.page(scope, limit=, cursor=)   -> Page[out]
    create  POST   <prefix>/<collection>        service.create(scope, **body)          -> out, 201
    get     GET    <prefix>/<collection>/{id}   service.get(scope, id)                 -> out
    put     PUT    <prefix>/<collection>/{id}   service.put(scope, id, **body)         -> out
    patch   PATCH  <prefix>/<collection>/{id}   service.update(scope, id, changes)     -> out
    delete  DELETE <prefix>/<collection>/{id}   service.delete(scope, id)              -> Deleted

An ``Op`` may bring its own ``view(req, scope, **path)`` where one scope answers differently
(an account reads the prompt in effect, not only its own record).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.routing import AuthMode, Req, route
from chalicelib.api.schemas import Deleted, ListQuery, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.models.accounts import GLOBAL_SCOPE

Verb = Literal["list", "create", "get", "put", "patch", "delete"]
# verb -> (method, on one record, the view name's verb)
_VERBS: dict[str, tuple[str, bool, str]] = {
    "list": ("GET", False, "list"), "create": ("POST", False, "create"), "get": ("GET", True, "get"),
    "put": ("PUT", True, "put"), "patch": ("PATCH", True, "update"), "delete": ("DELETE", True, "delete"),
}


@dataclass(frozen=True)
class Audience:
    """Who manages one scope's records, and under which path."""

    scope: Literal["global", "account"]
    prefix: str
    auth: AuthMode
    write_role: Role
    view_prefix: str  # in view names: get_global_prompt (staff), get_prompt (account)

    def scope_of(self, req: Req) -> str:
        return GLOBAL_SCOPE if self.scope == "global" else req.account_id


STAFF = Audience("global", "/v1/admin", "staff", Role.viewer, "global_")
ACCOUNT = Audience("account", "/v1/account", "user", Role.admin, "")


@dataclass(frozen=True)
class Op:
    """One route of a scope: its summary, and what differs from the verb's defaults."""

    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None  # lists: ListQuery
    response: Any = None  # default: the resource's out model (lists: a Page of it; delete: Deleted)
    view: Callable[..., Any] | None = None  # view(req, scope, **path_params), instead of the generated one


@dataclass(frozen=True)
class ScopeRoutes:
    audience: Audience
    tags: list[str]
    ops: dict[Verb, Op]


@dataclass(frozen=True)
class ScopedResource:
    collection: str  # the path segment: "prompts" -> /v1/admin/prompts, /v1/account/prompts
    id_param: str  # the record's id in paths: {prompt_type}
    noun: str  # in view names: "prompt" -> list_global_prompts, get_prompt
    service: Any  # a module with the functions above, taking the scope first
    out: type[BaseModel]  # validated from a record (from_attributes)
    routes: tuple[ScopeRoutes, ...] = field(default_factory=tuple)


def declare(bp: Blueprint, resource: ScopedResource, *, module: str) -> None:
    """Register every route of ``resource`` on ``bp``; ``module``: the declaring module's ``__name__``."""
    for scope_routes in resource.routes:
        for verb, op in scope_routes.ops.items():
            _register(bp, resource, scope_routes, verb, op, module)


def _register(bp: Blueprint, resource: ScopedResource, routes: ScopeRoutes, verb: str, op: Op, module: str) -> None:
    audience = routes.audience
    method, one, view_verb = _VERBS[verb]
    path = f"{audience.prefix}/{resource.collection}" + (f"/{{{resource.id_param}}}" if one else "")
    response = op.response or (Page[resource.out] if verb == "list" else Deleted if verb == "delete"
                               else resource.out)
    query = op.query or (ListQuery if verb == "list" else None)
    handler = _view(resource, audience, verb, op)
    handler.__name__ = handler.__qualname__ = \
        f"{view_verb}_{audience.view_prefix}{resource.noun}{'s' if verb == 'list' else ''}"
    handler.__module__ = module
    route(bp, path, method, summary=op.summary, tags=routes.tags, body=op.body, query=query, response=response,
          status=201 if verb == "create" else 200, auth=audience.auth,
          role=audience.write_role if method != "GET" else Role.viewer)(handler)


def _view(resource: ScopedResource, audience: Audience, verb: str, op: Op) -> Callable[..., Any]:
    service, out, id_param = resource.service, resource.out, resource.id_param
    if op.view is not None:
        custom = op.view
        return lambda req, **path: custom(req, audience.scope_of(req), **path)
    if verb == "list":
        def view(req: Req) -> Any:
            page = service.page(audience.scope_of(req), limit=req.query.limit, cursor=req.query.cursor)
            return Page[out](items=[out.model_validate(item) for item in page.items], next_cursor=page.next_cursor)
    elif verb == "create":
        def view(req: Req) -> Any:
            return out.model_validate(service.create(audience.scope_of(req), **req.body.model_dump(),
                                                     updated_by=req.tenant.user_id))
    elif verb == "get":
        def view(req: Req, **path: str) -> Any:
            return out.model_validate(service.get(audience.scope_of(req), path[id_param]))
    elif verb == "put":
        def view(req: Req, **path: str) -> Any:
            return out.model_validate(service.put(audience.scope_of(req), path[id_param], **req.body.model_dump(),
                                                  updated_by=req.tenant.user_id))
    elif verb == "patch":
        def view(req: Req, **path: str) -> Any:
            fields = changes(req.body, refuse_null=True)
            return out.model_validate(service.update(audience.scope_of(req), path[id_param], fields,
                                                     updated_by=req.tenant.user_id))
    else:
        def view(req: Req, **path: str) -> Any:
            service.delete(audience.scope_of(req), path[id_param])
            return Deleted(id=path[id_param])
    return view
