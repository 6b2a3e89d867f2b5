"""The OpenAPI 3.1 document, generated from the route table and its pydantic models."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.routing import PATH_PARAM_PATTERN, ROUTES, RouteSpec
from chalicelib.api.schemas import ErrorResponse

REF = "#/components/schemas/{model}"

_ERRORS = {
    400: "Malformed request (bad JSON, bad cursor)",
    401: "Missing, invalid or expired access token",
    403: "Not allowed for this role, or the module is disabled",
    404: "Not found (also for another account's records)",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed; details per field",
    429: "Too many requests",
}


def _models(spec: RouteSpec) -> list[type[BaseModel]]:
    return [m for m in (spec.body, spec.response) if isinstance(m, type) and issubclass(m, BaseModel)]


def _query_parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    if spec.query is None:
        return []
    schema = spec.query.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def build_openapi() -> dict[str, Any]:
    """The document, built once the route table is complete (reading ROUTES imports every
    blueprint module; a read during another thread's blueprint import sees part of it)."""
    document = _build()
    if not ROUTES.complete:
        _build.cache_clear()
    return document


@lru_cache(maxsize=1)
def _build() -> dict[str, Any]:
    models: dict[type[BaseModel], None] = {ErrorResponse: None}
    for spec in ROUTES:
        for model in _models(spec):
            models[model] = None
    refs, top = models_json_schema([(m, "validation" if _is_body(m) else "serialization") for m in models],
                                   ref_template=REF)
    schemas = top.get("$defs", {})

    def ref_of(model: type[BaseModel]) -> dict[str, Any]:
        mode = "validation" if _is_body(model) else "serialization"
        return refs[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        op: dict[str, Any] = {
            "operationId": _operation_id(spec),
            "summary": spec.summary,
            "tags": spec.tags,
            "parameters": [
                {"name": name, "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": PATH_PARAM_PATTERN}}
                for name in re.findall(r"{(\w+)}", spec.path)
            ] + _query_parameters(spec),
            "responses": {},
        }
        if spec.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ref_of(spec.body)}}}
        elif spec.content_types != ["application/json"]:
            # A raw upload (the CSV keyword import): the body is the file itself.
            op["requestBody"] = {"required": True,
                                 "content": {ct: {"schema": {"type": "string"}} for ct in spec.content_types}}
        ok: dict[str, Any] = {"description": "OK"}
        if spec.status != 204 and spec.response is not None and isinstance(spec.response, type):
            ok["content"] = {"application/json": {"schema": ref_of(spec.response)}}
        op["responses"][str(spec.status)] = ok
        error_schema = {"application/json": {"schema": ref_of(ErrorResponse)}}
        for status, text in _ERRORS.items():
            if status == 401 and spec.auth == "none":
                continue
            op["responses"][str(status)] = {"description": spec.extra_responses.get(status, text),
                                            "content": error_schema}
        for status, text in spec.extra_responses.items():
            op["responses"].setdefault(str(status), {"description": text, "content": error_schema})
        if spec.auth != "none":
            op["security"] = [{"bearerAuth": []}]
        else:
            op["security"] = []
        paths.setdefault(spec.path, {})[spec.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SEO Content Engine API",
            "version": "1.0.0",
            "description": "Keywords to clusters, ideas, tasks, articles and images, published to "
                           "WordPress on a schedule. Every error is {\"error\": {code, message, details}}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearerAuth": []}],
    }


def _is_body(model: type[BaseModel]) -> bool:
    return any(spec.body is model for spec in ROUTES)


def _operation_id(spec: RouteSpec) -> str:
    words = re.sub(r"[{}]", "", spec.path).strip("/").replace("/", "_").replace("-", "_")
    return f"{spec.method.lower()}_{words}"
