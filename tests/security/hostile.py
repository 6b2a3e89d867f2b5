"""Hostile requests, generated from the route table: oversized bodies, deep JSON, bad UTF-8,
absurd numbers, huge CSV and JSON keyword imports. Each must get a clear 4xx with the
standard error body (never a 5xx, never a hang), and the memory it takes stays bounded.

Used in-process (test_hostile_input.py, memory by tracemalloc) and against the running local
stack (test_fuzz_stack.py, memory as the API process's peak RSS).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.api.routing import MAX_JSON_BODY, MAX_RAW_BODY, ROUTES, RouteSpec
from chalicelib.services.keyword_import import MAX_ROWS
from tests.security.world import World, fill_path, path_params

MiB = 1024 * 1024


@dataclass
class Hostile:
    label: str
    method: str
    path: str
    body: Callable[[], bytes]  # made when sent: a few of these are several MiB
    token: str | None
    statuses: tuple[int, ...]  # acceptable answers
    code: str | None = None  # the error code expected, if one is
    content_type: str = "application/json"
    size_hint: int = 0  # bytes, for the figures

    def make(self) -> bytes:
        return self.body()


def _ids(world: World, spec: RouteSpec) -> dict[str, str]:
    ids = world.a_ids()
    return {**{name: f"no-such-{name.replace('_', '-')}" for name in path_params(spec.path)}, **ids}


def _token(world: World, spec: RouteSpec) -> str | None:
    return None if spec.auth == "none" else world.staff.token if spec.auth == "staff" else world.a.owner.token


def json_routes(sample: int = 1) -> list[RouteSpec]:
    """Routes that parse a JSON body; every ``sample``-th one (1: all)."""
    routes = [s for s in ROUTES if s.body is not None and "application/json" in s.content_types
              and s.path != "/v1/auth/logout"]
    return routes[::sample]


def deep(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


def deep_object(depth: int) -> bytes:
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def csv_rows(rows: int, *, sector_id: str = "", pad: int = 0) -> bytes:
    head = "keyword,search_volume,difficulty,cpc" + (",sector_id" if sector_id else "") + "\n"
    tail = f",{sector_id}" if sector_id else ""
    filler = "x" * pad
    return (head + "".join(f"hostile keyword {i} {filler},{i},{i % 100},1.5{tail}\n" for i in range(rows))).encode()


def json_limit(spec: RouteSpec) -> int:
    """The JSON body limit of a route: 1 MiB, or the larger one of a route that parses its own."""
    from chalicelib.api.planner import IMPORT_PATH, MAX_IMPORT_BODY

    return MAX_IMPORT_BODY if (spec.method, spec.path) == ("POST", IMPORT_PATH) else MAX_JSON_BODY


def per_route_cases(world: World, sample: int = 1) -> Iterator[Hostile]:
    """For each JSON route: too large, nested too deeply, not UTF-8, an integer too long."""
    for spec in json_routes(sample):
        path = fill_path(spec.path, _ids(world, spec))
        token = _token(world, spec)
        name = f"{spec.method} {spec.path}"
        limit = json_limit(spec)
        yield Hostile(f"{name}: JSON body 1 byte over its limit ({limit // MiB} MiB)", spec.method, path,
                      lambda limit=limit: b'{"name": "' + b"x" * (limit - 11) + b'"}', token, (413,),
                      "payload_too_large", size_hint=limit + 1)
        yield Hostile(f"{name}: arrays nested 100,000 deep", spec.method, path, lambda: deep(100_000), token,
                      (400,), "invalid_json", size_hint=200_000)
        yield Hostile(f"{name}: objects nested 50,000 deep", spec.method, path, lambda: deep_object(50_000), token,
                      (400,), "invalid_json", size_hint=300_000)
        yield Hostile(f"{name}: not UTF-8", spec.method, path, lambda: b'{"name": "caf\xe9 \xff\xfe"}', token,
                      (400,), "invalid_encoding")
        yield Hostile(f"{name}: UTF-8-encoded surrogate", spec.method, path, lambda: b'{"name": "\xed\xa0\x80"}',
                      token, (400,), "invalid_encoding")
        yield Hostile(f"{name}: an integer of 5,000 digits", spec.method, path,
                      lambda: b'{"name": ' + b"9" * 5000 + b"}", token, (400,), "invalid_json")


def fixed_cases(world: World) -> Iterator[Hostile]:
    """Huge imports, raw bodies over the ceiling, odd JSON values, odd headers and queries."""
    a = world.a.owner.token
    base = f"/v1/sites/{world.a.ids['site_id']}"
    sector = world.a.ids["sector_id"]
    csv_path = f"{base}/keywords/import.csv?sector_id={sector}"
    too_many = MAX_ROWS + 1
    yield Hostile(f"CSV import of {too_many:,} rows", "POST", csv_path, lambda: csv_rows(too_many), a, (413,),
                  "too_many_rows", "text/csv", size_hint=len(csv_rows(too_many)))
    # As many rows as fit under the raw ceiling: refused by count, without building 300,000 rows.
    big_rows = (MAX_RAW_BODY - 100) // len(b"hostile keyword 123456 ,123456,56,1.5\n")
    yield Hostile(f"CSV import of ~{big_rows:,} rows (just under 6 MiB)", "POST", csv_path,
                  lambda: csv_rows(big_rows)[:MAX_RAW_BODY - 1], a, (413,), "too_many_rows", "text/csv",
                  size_hint=MAX_RAW_BODY)
    yield Hostile("CSV import over 6 MiB", "POST", csv_path, lambda: b"keyword\n" + b"k\n" * (MAX_RAW_BODY // 2 + 10),
                  a, (413,), "payload_too_large", "text/csv", size_hint=MAX_RAW_BODY + 20)
    yield Hostile("CSV with one field of 200 KiB", "POST", csv_path,
                  lambda: b'keyword\n"' + b"a" * 200_000 + b'"\n', a, (422,), "invalid_csv", "text/csv")
    yield Hostile("CSV with a header of 20,000 columns", "POST", csv_path,
                  lambda: ",".join(["keyword", *(f"c{i}" for i in range(20_000))]).encode() + b"\nk\n", a,
                  (200, 422), None, "text/csv")
    yield Hostile("CSV neither UTF-8 nor Windows-1252", "POST", csv_path, lambda: b"keyword\n\x81\x8d\x8f\x90\n", a,
                  (400,), "invalid_encoding", "text/csv")
    yield Hostile("CSV with NUL bytes", "POST", csv_path, lambda: b"keyword\nab\x00cd\n" * 10, a, (200, 422), None,
                  "text/csv")
    yield Hostile("CSV without a keyword column", "POST", csv_path, lambda: b"name,volume\nx,1\n", a, (422,),
                  "invalid_csv", "text/csv")
    yield Hostile("empty CSV", "POST", csv_path, lambda: b"", a, (422,), "invalid_csv", "text/csv")
    yield Hostile(f"JSON import of {too_many:,} rows", "POST", f"{base}/keywords/import",
                  lambda: json.dumps({"sector_id": sector, "keywords": ["k"] * too_many}).encode(), a, (413,),
                  "too_many_rows")
    yield Hostile("JSON import with rows of every wrong type", "POST", f"{base}/keywords/import",
                  lambda: json.dumps({"sector_id": sector, "keywords": [None, 1, [], {}, {"keyword": {"a": 1}},
                                                                        {"keyword": "x" * 10_000}, True]}).encode(),
                  a, (200,))
    wp_path = f"/v1/webhooks/wordpress/{world.a.ids['site_id']}"
    yield Hostile("WordPress webhook over 6 MiB", "POST", wp_path, lambda: b"x" * (MAX_RAW_BODY + 1), None, (413,),
                  "payload_too_large", size_hint=MAX_RAW_BODY + 1)
    yield Hostile("Stripe webhook over 6 MiB", "POST", "/v1/webhooks/stripe", lambda: b"x" * (MAX_RAW_BODY + 1),
                  None, (413,), "payload_too_large", size_hint=MAX_RAW_BODY + 1)
    yield Hostile("Infinity and NaN where numbers go", "PATCH", f"{base}/keywords/{world.a.ids['keyword_id']}",
                  lambda: b'{"search_volume": Infinity, "cpc": NaN, "difficulty": -Infinity}', a, (400, 422))
    yield Hostile("a number too large for a float", "PATCH", f"{base}/keywords/{world.a.ids['keyword_id']}",
                  lambda: b'{"cpc": 1e400}', a, (400, 422))
    yield Hostile("a lone surrogate escape in a name", "POST", "/v1/sites", lambda: b'{"name": "site \\ud800"}', a,
                  (422,), "validation_error")
    yield Hostile("a JSON array instead of an object", "POST", "/v1/sites", lambda: b"[1, 2, 3]", a, (422,))
    yield Hostile("a bare JSON string", "POST", "/v1/sites", lambda: b'"site"', a, (422,))
    yield Hostile("1,000 duplicate keys", "POST", "/v1/sites",
                  lambda: ("{" + ",".join(['"name": "dup"'] * 1000) + "}").encode(), a, (201, 402, 422))
    # (URL and header sizes stay under what an HTTP server takes at all: 64 KiB a line)
    yield Hostile("a query string of 8 KiB", "GET", "/v1/sites?cursor=" + "A" * 8_000, lambda: b"", a, (422,),
                  "validation_error")
    yield Hostile("1,000 unknown query parameters", "GET", "/v1/sites?" + "&".join(f"p{i}=1" for i in range(1000)),
                  lambda: b"", a, (422,), "validation_error")
    yield Hostile("a bearer token of 32 KiB", "GET", "/v1/me", lambda: b"", "x" * 32_000, (401,), "unauthorized")
    yield Hostile("a JSON body sent as text/plain", "POST", "/v1/sites", lambda: b'{"name": "x"}', a, (415,),
                  "unsupported_media_type", "text/plain")
    yield Hostile("a JSON body with a charset the API does not read", "POST", "/v1/sites",
                  lambda: '{"name": "café"}'.encode("utf-16"), a, (400, 415), None, "application/json; charset=utf-16")


def check_answer(case: Hostile, status: int, headers: dict[str, str], raw: bytes) -> list[str]:
    """What is wrong with the answer to a hostile request (empty: all is well)."""
    from tests.security.fuzz import error_body_problems

    problems = []
    if status not in case.statuses:
        problems.append(f"status {status}, expected {case.statuses}: {raw[:200]!r}")
    problems += error_body_problems(status, headers, raw)
    if case.code and status >= 400:
        try:
            code = json.loads(raw)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if code != case.code:
            problems.append(f"error code {code!r}, expected {case.code!r}")
    return problems


def send_in_process(api: Any, case: Hostile) -> tuple[int, dict[str, str], bytes]:
    r = api.request(case.method, case.path, body=case.make(), token=case.token,
                    headers={"content-type": case.content_type})
    return r.status, r.headers, r.raw
