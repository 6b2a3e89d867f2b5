"""One decorator for every route: auth, scope, body/query validation, errors, OpenAPI entry.

A handler receives a ``Req`` (verified tenant, validated body and query) and returns a
pydantic model, a dict, a list or a service's ``Page``; everything else -- status, JSON,
error bodies, the request id -- is done here once, so no route can forget it.

Before the handler, one BatchGetItem reads the caller (user and account), the account's
module switches and, for a route declared ``scope="site"``, the site and sector of its path
(services.caller). Then, in this order: 401/403 for the caller, 403 for the role, 403
``module_disabled`` for the route's module, 404 for an odd path id, 4xx for the body and
query, and for a site route its guard (404 for another account's site, 409 inactive or
deleting). ``routes(bp, scope="site", module="planner")`` declares a blueprint's defaults once.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnprocessableEntity,
    error_body,
)
from chalicelib.observability import current_request_id, logger

if TYPE_CHECKING:
    from chalicelib.services.caller import Caller

AuthMode = Literal["user", "staff", "none"]
# "site": the route works inside /v1/sites/{site_id}: the site (and sector) are read with the
# caller, checked by the guard below, and handed to the handler as ``req.site``.
Scope = Literal["site"] | None
SITE_PREFIX = "/v1/sites/{site_id}"
# What a route under /v1/sites/{site_id} needs of its site (and sector): "read" (it exists and is
# not being deleted), "write" (also active), "manage" (changing the site or sector itself: allowed
# while inactive, which is how it comes back), None (the handler decides: GET and DELETE of the
# site or sector answer for one being deleted). "auto": "write" for POST/PUT/PATCH/DELETE, else "read".
SiteGuard = Literal["auto", "read", "write", "manage"] | None

PATH_PARAM_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
_path_param = re.compile(PATH_PARAM_PATTERN)

# What an API key may call (auth.api_keys scopes), derived from each route once: a GET needs
# "read"; a write needs "jobs" on job and automation routes, "publish" on publishing routes,
# "write" elsewhere. Routes of these tags (and every staff route) never take a key: signing in,
# users, keys, billing and the audit log are managed by people.
KEY_SCOPE_OF_WRITES = {"jobs": "jobs", "automation": "jobs", "publisher": "publish"}
KEYLESS_TAGS = frozenset({"auth", "users", "api keys", "billing", "audit"})

MAX_JSON_BODY = 1 * 1024 * 1024
MAX_RAW_BODY = 6 * 1024 * 1024  # API Gateway/Lambda's own payload ceiling


@dataclass
class RouteSpec:
    method: str
    path: str
    summary: str
    tags: list[str]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: AuthMode
    role: Role
    content_types: list[str]
    module: str | None = None
    extra_responses: dict[int, str] = field(default_factory=dict)
    handler_module: str | None = None  # the Python module that declares the route
    site_guard: SiteGuard = "auto"
    scope: Scope = None
    max_body: int = MAX_JSON_BODY  # the JSON body's size limit
    rate_limit: str | None = None  # the per-account bucket of services.rate_limits it counts in

    @property
    def writes(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")

    @property
    def key_scope(self) -> str | None:
        """The scope an API key needs for this route (None: no key may call it)."""
        if self.auth != "user" or any(tag in KEYLESS_TAGS or tag.startswith("admin") for tag in self.tags):
            return None
        if not self.writes:
            return "read"
        kinds = [self.module, *self.tags]
        return next((KEY_SCOPE_OF_WRITES[k] for k in kinds if k in KEY_SCOPE_OF_WRITES), "write")

    @property
    def site_level(self) -> str | None:
        """The guard of a route under a site (None: none, or the handler's own)."""
        if self.scope != "site" or self.site_guard is None:
            return None
        if self.site_guard == "auto":
            return "write" if self.writes else "read"
        return self.site_guard


class RouteTable:
    """Every route's spec, in ``registry.API_MODULES`` order.

    app.py serves routes from ``chalicelib/manifest.json`` and imports a blueprint module
    on the first request to one of its routes, so which modules are imported depends on the
    traffic. Reading the table (iterating, ``len``, indexing: the OpenAPI document, the
    tests) therefore first imports every module of ``API_MODULES``. A module that reads the
    table while it is itself being imported sees the routes declared so far.
    """

    def __init__(self) -> None:
        self._specs: list[RouteSpec] = []
        self._complete = False
        self._loading = False
        self._lock = threading.RLock()

    @property
    def complete(self) -> bool:
        """Every module of ``API_MODULES`` is imported (else a read saw the routes so far)."""
        return self._complete

    def append(self, spec: RouteSpec) -> None:
        self._specs.append(spec)

    def _load_all(self) -> None:
        if self._complete:
            return
        from importlib import import_module

        from chalicelib.registry import API_MODULES

        if any(_initialising(name) for name in API_MODULES):
            return  # read while a blueprint module is being imported: what is declared so far
        with self._lock:  # another thread waits for the whole table
            if self._complete or self._loading:
                return  # re-entered from this thread's own loading
            self._loading = True
            try:
                for name in API_MODULES:
                    import_module(name)
                order = {name: i for i, name in enumerate(API_MODULES)}
                self._specs.sort(key=lambda spec: order.get(spec.handler_module or "", len(order)))
                self._complete = True
            finally:
                self._loading = False

    def __iter__(self) -> Iterator[RouteSpec]:
        self._load_all()
        return iter(list(self._specs))

    def __len__(self) -> int:
        self._load_all()
        return len(self._specs)

    def __getitem__(self, index: int) -> RouteSpec:
        self._load_all()
        return self._specs[index]


def _initialising(module_name: str) -> bool:
    module = sys.modules.get(module_name)
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


ROUTES = RouteTable()


@dataclass
class Req:
    request: Any
    tenant: Tenant | None
    body: Any
    query: Any
    raw_body: bytes
    spec: RouteSpec
    caller: Caller | None = None

    @property
    def account_id(self) -> str:
        assert self.tenant is not None
        return self.tenant.account_id

    @property
    def site(self) -> Any:
        """The site of a ``scope="site"`` route, read with the caller and past its guard."""
        site = self.caller.site if self.caller is not None else None
        if site is None:
            raise NotFound("Site")
        return site

    def require_module(self, module: str) -> None:
        """403 module_disabled unless ``module`` is on (a route whose module depends on its body)."""
        from chalicelib.services.modules import check_enabled

        assert self.caller is not None and self.caller.modules is not None, "declare the route with scope='site'"
        check_enabled(self.caller.modules, module)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header (None: not sent): a retried request is applied once."""
        key = self.header("Idempotency-Key")
        if key is None:
            return None
        if not IDEMPOTENCY_KEY.match(key):
            raise UnprocessableEntity("Idempotency-Key must be 8 to 100 letters, digits, '_', '.', ':' or '-'.",
                                      details=[{"field": "Idempotency-Key", "message": "invalid"}])
        return key

    @property
    def source_ip(self) -> str | None:
        """The client's address as API Gateway saw it (for the audit log)."""
        identity = (getattr(self.request, "context", None) or {}).get("identity") or {}
        return identity.get("sourceIp")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    hdrs = {"Content-Type": "application/json"}
    rid = current_request_id()
    if rid:
        hdrs["X-Request-Id"] = rid
    hdrs.update(headers or {})
    return Response(body=json.dumps(data, default=str, ensure_ascii=False), status_code=status, headers=hdrs)


def error_response(exc: ApiError) -> Response:
    return json_response(error_body(exc.code, exc.message, exc.details, current_request_id()),
                         exc.status, exc.headers)


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    # Never echo the submitted values back: they may be passwords or secrets.
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _parse_json(raw: bytes, max_bytes: int) -> Any:
    if len(raw) > max_bytes:
        size = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes // 1024} KiB"
        raise PayloadTooLarge(f"The JSON body is larger than {size}.")
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.", code="invalid_encoding") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply.", code="invalid_json") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc.msg} at position {exc.pos}.",
                         code="invalid_json") from None
    except ValueError:  # e.g. an integer longer than Python converts (4,300 digits)
        raise BadRequest("The body is not valid JSON: a number is too long.", code="invalid_json") from None


def parse_body(model: type[BaseModel], raw: bytes, max_bytes: int = MAX_JSON_BODY) -> BaseModel:
    """A JSON body as ``model``, with JSON's own types: ``true``, ``1.0`` or ``"1"`` is no integer.

    Strict: a number is not a string, a string is not a number or a boolean (422 naming the
    field). Dates and times come as the ISO strings JSON has for them.
    """
    data = _parse_json(raw, max_bytes)  # the 400/413 answers, before any validation
    if not isinstance(data, dict):
        raise UnprocessableEntity("The body must be a JSON object.")
    return model.model_validate_json(raw if raw.strip() else b"{}", strict=True)


def _query_params(request: Any) -> dict[str, str]:
    params = request.query_params or {}
    return {key: params[key] for key in params}


def authenticate(request: Any, *, modules: bool = False, site_id: str | None = None,
                 sector_id: str | None = None) -> Caller:
    """The caller of an access token or an API key (``Authorization: Bearer sk_...`` or ``X-Api-Key``)."""
    from chalicelib.auth.api_keys import looks_like_key
    from chalicelib.services import caller

    key = (request.headers.get("x-api-key") or "").strip()
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not key and scheme.lower() == "bearer" and looks_like_key(token):
        key = token
    if key:
        return caller.load_key(key, modules=modules, site_id=site_id, sector_id=sector_id)
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send an access token as 'Authorization: Bearer <token>' "
                           "(get one from POST /v1/auth/login), or an API key.")
    return caller.load(token, modules=modules, site_id=site_id, sector_id=sector_id)


def routes(bp: Blueprint, **defaults: Any) -> Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """``route`` for one blueprint with its defaults said once, e.g. ``scope="site", module="planner"``."""
    return functools.partial(route, bp, **defaults)


def route(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    tags: list[str] | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    auth: AuthMode = "user",
    role: Role = Role.viewer,
    content_types: list[str] | None = None,
    module: str | None = None,
    extra_responses: dict[int, str] | None = None,
    site_guard: SiteGuard = "auto",
    scope: Scope = None,
    max_body: int = MAX_JSON_BODY,
    rate_limit: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(req, **path_params)`` as ``method path`` on the blueprint."""

    under_site = path == SITE_PREFIX or path.startswith(SITE_PREFIX + "/")
    if auth != "none" and under_site != (scope == "site"):
        raise ValueError(f"{method} {path}: a route under {SITE_PREFIX} is declared with scope='site', "
                         "and only such a route")
    ctypes = content_types or ["application/json"]
    extra = dict(extra_responses or {})
    if rate_limit is not None:
        extra.setdefault(429, f"Too many requests of this kind for the account (code rate_limited; "
                              f"Retry-After says when to try again; bucket {rate_limit})")
    spec = RouteSpec(method, path, summary, tags or [], body, query, response, status, auth, role,
                     ctypes, module, extra, site_guard=site_guard, scope=scope,
                     max_body=max_body, rate_limit=rate_limit)
    ROUTES.append(spec)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        # The blueprint's module: app.py imports it on the first request to one of its routes.
        spec.handler_module = getattr(bp, "_import_name", None) or fn.__module__
        handler = _limited(fn, rate_limit) if rate_limit is not None else fn

        def view(**path_params: str) -> Response:
            request = bp.current_request
            try:
                # No record has an odd id: it never reaches DynamoDB as a key (404 below).
                valid_path = all(_path_param.match(v or "") for v in path_params.values())
                caller = _admit(spec, request, path_params if valid_path else {}) if auth != "none" else None
                tenant = caller.tenant if caller is not None else None
                if not valid_path:
                    raise NotFound()
                raw = request.raw_body or b""
                if len(raw) > MAX_RAW_BODY:
                    raise PayloadTooLarge("The request body is too large.")
                parsed_body = parse_body(body, raw, max_body) if body is not None else None
                parsed_query = query.model_validate(_query_params(request)) if query else None
                req = Req(request, tenant, parsed_body, parsed_query, raw, spec, caller)
                if scope == "site" and caller is not None:
                    result = _under_site(handler, req, path_params)
                else:
                    result = handler(req, **path_params)
                if isinstance(result, Response):
                    return result
                if status == 204:
                    rid = current_request_id()
                    return Response(body="", status_code=204, headers={"X-Request-Id": rid} if rid else {})
                return json_response(_dump(result, response), status)
            except ApiError as exc:
                return error_response(exc)
            except ValidationError as exc:
                return error_response(UnprocessableEntity(
                    "The request is not valid; see details for each field.", details=_validation_details(exc)))
            except Exception:  # noqa: BLE001 - the one place an unexpected error becomes a 500
                logger.exception("unhandled error", extra={"route": f"{method} {path}"})
                return error_response(ApiError("Something went wrong on our side; try again, and "
                                               "quote the request id if it persists.",
                                               code="internal_error", status=500))

        view.__name__ = fn.__name__
        view.__doc__ = fn.__doc__
        bp.route(path, methods=[method], content_types=ctypes)(view)
        return fn

    return decorator


def _admit(spec: RouteSpec, request: Any, path_params: dict[str, str]) -> Caller:
    """The caller, allowed on this route: 401, 403 (staff, role, module) otherwise."""
    at_site = spec.scope == "site"
    caller = authenticate(request, modules=bool(spec.module) or at_site,
                          site_id=path_params.get("site_id") if at_site else None,
                          sector_id=path_params.get("sector_id") if at_site else None)
    tenant = caller.tenant
    logger.append_keys(account_id=tenant.account_id)
    if caller.api_key is not None:
        _admit_key(spec, caller, path_params)
    staff_route = spec.auth == "staff"
    if staff_route and not tenant.is_staff:
        raise Forbidden("This route is for platform staff.", code="staff_only")
    if not tenant.role.at_least(spec.role) and not (staff_route and tenant.is_staff):
        raise Forbidden(f"Your role ({tenant.role.value}) cannot do this; it needs "
                        f"{spec.role.value} or above.", code="insufficient_role")
    if spec.module:
        from chalicelib.services.modules import check_enabled

        check_enabled(caller.modules, spec.module)
    return caller


def _admit_key(spec: RouteSpec, caller: Caller, path_params: dict[str, str]) -> None:
    """An API key on this route: its scope (403), its site (404 for another site), its rate (429)."""
    from chalicelib.services import api_keys

    tenant = caller.tenant
    needed = spec.key_scope
    if needed is None:
        raise Forbidden("API keys cannot call this route; sign in as a user.", code="api_key_not_allowed")
    if needed not in tenant.key_scopes:
        raise Forbidden(f"This API key does not have the '{needed}' scope this route needs.",
                        code="api_key_scope_missing", details={"needed": needed})
    if tenant.key_site_id is not None:
        if spec.scope != "site":
            raise Forbidden("This API key is limited to one site; call that site's routes only.",
                            code="api_key_site_restricted")
        if path_params.get("site_id") != tenant.key_site_id:
            raise NotFound("Site")
    assert caller.api_key is not None
    api_keys.count_use(caller.api_key)


def _limited(fn: Callable[..., Any], bucket: str) -> Callable[..., Any]:
    """``fn`` counted in the caller's account's ``bucket``: only a request that passed every check
    before the handler counts (a 4xx for the body or the site costs nothing of the limit)."""
    from chalicelib.services import rate_limits

    def limited(req: Req, **path_params: str) -> Any:
        rate_limits.enforce(req.account_id, bucket)
        return fn(req, **path_params)

    return limited


def _under_site(fn: Callable[..., Any], req: Req, path_params: dict[str, str]) -> Any:
    """A route under /v1/sites/{site_id}: the site (and sector) state first, then the handler."""
    from chalicelib.services import sites

    assert req.caller is not None
    known = [record for record in (req.caller.site, req.caller.sector) if record is not None]
    with sites.request_scope(writing=req.spec.writes, known=known):
        level = req.spec.site_level
        if level is not None:
            sites.guard_route(req.account_id, path_params["site_id"], path_params.get("sector_id"), level)
        return fn(req, **path_params)


def _dump(result: Any, response_model: Any) -> Any:
    """The JSON of a handler's answer: a model as it is; anything else (a record, a service's
    ``Page`` of records, a dict) read into the route's response model, attribute by attribute."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if response_model is not None and isinstance(response_model, type) and issubclass(response_model, BaseModel):
        return response_model.model_validate(result, from_attributes=True).model_dump(mode="json")
    return result
