"""The API's contract with its clients: no operation they use disappears or asks for more.

``contract/operations.json`` is the list of operations as the web and mobile clients know them:
method, path, status, and the body and query fields each requires. Every operation in it must
still be served with exactly those required fields and that success status (new operations and
new optional fields are fine). To record a deliberate, announced change of the contract:
``python -m tests.api.test_api_contract`` rewrites the file; review its diff like an API change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONTRACT = Path(__file__).parent / "contract" / "operations.json"


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            json_body = body.get("application/json", {}).get("schema")
            required_body = sorted(_schema(document, json_body).get("required", [])) if json_body else []
            out[f"{method.upper()} {path}"] = {
                "status": min(int(code) for code in op["responses"] if code.startswith("2")),
                "body_types": sorted(body),
                "required_body": required_body,
                "required_query": sorted(p["name"] for p in op.get("parameters", [])
                                         if p["in"] == "query" and p.get("required")),
            }
    return dict(sorted(out.items()))


def _current() -> dict[str, dict[str, Any]]:
    from chalicelib.api.openapi import build_openapi

    return operations(build_openapi())


def test_every_operation_of_the_contract_is_still_served_as_it_was():
    contract = json.loads(CONTRACT.read_text())
    current = _current()
    missing = sorted(set(contract) - set(current))
    assert not missing, f"operations clients use are gone: {missing}"
    changed = {op: (contract[op], current[op]) for op in contract if contract[op] != current[op]}
    assert not changed, f"operations whose contract changed (was, now): {json.dumps(changed, indent=1)}"


def test_every_model_keeps_its_own_name_in_the_document():
    """Two API models with one class name make the document rename both after their modules
    (``chalicelib__api__publisher__SettingsOut``): the generated client types change under the clients."""
    from chalicelib.api.openapi import build_openapi

    renamed = sorted(name for name in build_openapi()["components"]["schemas"] if "__" in name)
    assert not renamed, f"models sharing a class name with another (rename one): {renamed}"


if __name__ == "__main__":
    CONTRACT.write_text(json.dumps(_current(), indent=1) + "\n")
    print(f"wrote {CONTRACT}")
