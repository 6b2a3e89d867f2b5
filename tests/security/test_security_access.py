"""Access control under fire, generated from the route table (a new route is covered by itself).

One world per module (tests/security/world.py): account A (the victim, two records of every
kind), account B (the intruder, a member of every role, records of its own), a staff user.

- bad tokens: every protected route x every kind of bad token (access tokens and API keys) -> 401,
  standard error body;
- staff routes: every ``auth="staff"`` route x every non-staff identity -> 403 ``staff_only``;
- lists: every GET route as each of B's roles (and with filters naming A's ids) shows nothing
  of A's;
- cursors: every paginated list x forged, foreign, tampered and replayed cursors -> 400
  ``invalid_cursor``; a cursor can only ever page the caller's own partition.

Profiles (SECURITY_PROFILE): ``full`` (make test-security) runs every combination; ``fast``
(plain make test) runs every route and every kind, but for the token matrix only every
third route for each kind, rotating so that every route meets some kinds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from chalicelib.api.routing import ROUTES, RouteSpec
from chalicelib.auth.roles import Role
from tests.security import figures
from tests.security.world import GLOBAL_PARAMS, ROLES, World, add_member, fill_path, leaks, login, path_params

pytestmark = [pytest.mark.security,
              pytest.mark.filterwarnings("ignore:The HMAC key is")]  # HS512 forged with the HS256 key, on purpose

FULL = figures.security_profile() == "full"


# --- helpers -------------------------------------------------------------------------------

def ids_with_placeholders(ids: dict[str, str], spec: RouteSpec) -> dict[str, str]:
    """Every path parameter filled: the world's record, or an id no record has (for routes
    newer than the world: what is checked here happens before any record is looked up)."""
    return {**{name: f"no-such-{name.replace('_', '-')}" for name in path_params(spec.path)}, **ids}


def example_body(spec: RouteSpec) -> Any:
    from tests.api.test_tenant_isolation import example_body as valid_body

    return valid_body(spec.body) if spec.body else None


def call(api: Any, spec: RouteSpec, path: str, token: str | None, headers: dict[str, str] | None = None) -> Any:
    content_type = spec.content_types[0]
    hdrs = {"content-type": content_type, **(headers or {})}
    if content_type == "text/csv":
        return api.request(spec.method, path, body="keyword\nsecurity\n", token=token, headers=hdrs)
    return api.request(spec.method, path, json_body=example_body(spec) if spec.method != "GET" else None,
                       token=token, headers=hdrs)


def standard_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    body = resp.json
    assert resp.status == status, (resp.status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), body
    assert "details" in error and "request_id" in error, body
    assert resp.headers.get("X-Request-Id"), resp.headers
    if code:
        assert error["code"] == code, body
    return error


def snapshot(api: Any, world: World) -> str:
    """A's records as A sees them (and the platform's), to prove nothing changed."""
    a, ids = world.a.owner, world.a.ids
    base = f"/v1/sites/{ids['site_id']}"
    paths = ["/v1/me", "/v1/users", "/v1/sites", f"{base}", f"{base}/sectors", "/v1/account/settings",
             "/v1/account/author-profiles", f"/v1/users/{ids['user_id']}",
             *(f"{base}/{kind}" for kind in ("keywords", "clusters", "ideas", "tasks", "content", "images", "jobs"))]
    parts = {path: api.request("GET", path, token=a.token).json for path in paths}
    parts["industries"] = api.request("GET", "/v1/industries", token=world.staff.token).json
    for kind in ("providers", "ai-models", "prompts", "strategies", "author-profiles", "credit-costs"):
        parts[kind] = api.request("GET", f"/v1/admin/{kind}", token=world.staff.token).json
    text = json.dumps(parts, sort_keys=True, default=str)
    # Reading a list does not change it; timestamps of "last seen" kind would be a bug anyway.
    return text


@pytest.fixture(scope="module")
def before(module_api: Any, world: World) -> str:
    return snapshot(module_api, world)


PROTECTED = [s for s in ROUTES if s.auth != "none"]
STAFF_ROUTES = [s for s in ROUTES if s.auth == "staff"]
LIST_ROUTES = [s for s in ROUTES if s.method == "GET" and s.auth == "user" and s.query is not None
               and "cursor" in s.query.model_fields]


# --- bad tokens ----------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def bad_tokens(api: Any, world: World) -> dict[str, str | None]:
    """Every way an access token can be wrong, made from B's real tokens."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from chalicelib.auth import tokens

    b = world.b.owner
    key = tokens._jwt_key()  # the server's own key: claim checks must hold even for signed tokens
    claims = _claims(b.token)
    header, payload, signature = b.token.split(".")
    flipped = signature[:-3] + ("AAA" if not signature.endswith("AAA") else "BBB")
    other_claims = {**claims, "acc": world.a.owner.account_id}

    # A session ended by logout, and a user deactivated by B's owner.
    ended = login(api, world.b.members["editor"])
    assert api.request("POST", "/v1/auth/logout", token=ended.token).status == 204
    leaver = add_member(api, b, "editor")  # a user of B's that B's owner is about to deactivate
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    now = int(time.time())
    made = {
        "no Authorization header": None,
        "not Bearer": "Basic " + _b64(b"user:password"),
        "not a JWT": "not-a-token",
        "empty bearer": "",
        "expired": tokens.issue_access_token(account_id=b.account_id, user_id=b.user_id,
                                             session_id=claims["sid"], now=now - 10_000),
        "signature tampered": f"{header}.{payload}.{flipped}",
        "claims tampered (another account)": f"{header}.{_b64(json.dumps(other_claims).encode())}.{signature}",
        "signature stripped": f"{header}.{payload}.",
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "alg HS512 (same key)": jwt.encode(claims, key, algorithm="HS512"),
        "alg HS256, another key": jwt.encode(claims, b"k" * 32, algorithm="HS256"),
        "alg RS256": jwt.encode(claims, pem, algorithm="RS256"),
        "typ refresh": jwt.encode({**claims, "typ": "refresh"}, key, algorithm="HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "someone-else"}, key, algorithm="HS256"),
        "no exp claim": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key, algorithm="HS256"),
        "user of another account": jwt.encode({**claims, "acc": world.a.owner.account_id}, key, algorithm="HS256"),
        "unknown user": jwt.encode({**claims, "sub": "no-such-user"}, key, algorithm="HS256"),
        "refresh token as access token": b.refresh_token,
        "revoked (after logout)": ended.token,
    }
    r = api.request("POST", f"/v1/users/{leaver.user_id}/deactivate", json_body={}, token=b.token)
    assert r.status == 200, r.json
    made["user deactivated"] = leaver.token
    made.update(bad_api_keys(api, world))
    return made


def bad_api_keys(api: Any, world: World) -> dict[str, str]:
    """Every way an API key can be wrong, made from B's real keys (X-Api-Key ones: that header)."""
    from chalicelib.models.api_keys import ApiKey
    from chalicelib.timeutil import utcnow

    b = world.b.owner

    def new_key() -> dict[str, Any]:
        r = api.request("POST", "/v1/api-keys", json_body={"name": "bad", "scopes": ["read", "write", "jobs",
                                                                                     "publish"]}, token=b.token)
        assert r.status == 201, r.json
        return r.json

    revoked, expired, live = new_key(), new_key(), new_key()
    assert api.request("DELETE", f"/v1/api-keys/{revoked['key_id']}", token=b.token).status == 200
    ApiKey(b.account_id, expired["key_id"]).update(actions=[ApiKey.expires_at.set(utcnow())])
    key = live["key"]
    flipped = key[:-3] + ("AAA" if not key.endswith("AAA") else "BBB")
    unknown_prefix = "sk_" + "z" * 12 + key[len("sk_") + 12:]
    return {
        "API key revoked": revoked["key"],
        "API key expired": expired["key"],
        "API key secret tampered": flipped,
        "API key of an unknown prefix": unknown_prefix,
        "API key malformed": "sk_short",
        "API key truncated": key[:-10],
        "X-Api-Key revoked": revoked["key"],
        "X-Api-Key tampered": flipped,
        "X-Api-Key not a key": "not-a-key",
    }


@pytest.fixture(scope="module")
def tokens_by_kind(module_api: Any, world: World, before: str) -> dict[str, str | None]:
    return bad_tokens(module_api, world)


def test_every_protected_route_refuses_every_bad_token(module_api, world, tokens_by_kind, before):
    kinds = list(tokens_by_kind)
    cases = routes_hit = 0
    for i, spec in enumerate(PROTECTED):
        path = fill_path(spec.path, ids_with_placeholders(world.a_ids(), spec))
        chosen = kinds if FULL else kinds[i % 3::3]
        for kind in chosen:
            token = tokens_by_kind[kind]
            headers = {}
            if token is not None and kind in ("not Bearer", "empty bearer"):
                headers["authorization"] = token if kind == "not Bearer" else "Bearer "
                token = None
            if token is not None and kind.startswith("X-Api-Key"):
                headers["x-api-key"] = token
                token = None
            r = call(module_api, spec, path, token, headers)
            label = f"{spec.method} {spec.path} with a token that is {kind}"
            assert r.status == 401, f"{label}: {r.status} {r.json}"
            standard_error(r, 401)
            assert r.headers.get("WWW-Authenticate") == "Bearer", label
            assert not leaks(r.raw, world.a.markers), f"{label} leaked {leaks(r.raw, world.a.markers)}"
            cases += 1
        routes_hit += 1
    figures.record("bad tokens", routes=routes_hit, kinds=len(kinds), cases=cases)
    assert snapshot(module_api, world) == before, "a refused request changed something"


def test_the_refresh_endpoint_takes_only_live_refresh_tokens(module_api, world, tokens_by_kind):
    """The reverse confusion: an access token (or a forged one) is no refresh token."""
    a, b = world.a.owner, world.b.owner
    # A wrong secret for a live session counts as a stolen token and ends that session: use a spare one.
    spare = login(module_api, b)
    cases = {
        "an access token": b.token,
        "malformed": "a.b",
        "A's session under B's account": a.refresh_token.replace(a.account_id, b.account_id),
        "a guessed secret for B's session": f"{b.account_id}.{_claims(spare.token)['sid']}.{'A' * 43}",
    }
    for kind, value in cases.items():
        r = module_api.request("POST", "/v1/auth/refresh", json_body={"refresh_token": value})
        assert r.status in (401, 422), (kind, r.status, r.json)
        standard_error(r, r.status)
    figures.record("bad tokens", refresh_cases=len(cases))


# --- staff routes --------------------------------------------------------------------------

def test_the_admin_area_is_staff_only_by_declaration():
    """Every /v1/admin route is declared auth="staff": a new admin route cannot forget it."""
    admin = [s for s in ROUTES if s.path.startswith("/v1/admin")]
    assert admin and all(s.auth == "staff" for s in admin), [(s.method, s.path) for s in admin if s.auth != "staff"]
    assert {s.auth for s in ROUTES if s.path.startswith("/v1/industries") and s.method != "GET"} == {"staff"}


def test_no_one_but_staff_reaches_a_staff_route(module_api, world, before):
    identities = {f"B's {role}": m for role, m in world.b.members.items()}
    identities["A's owner"] = world.a.owner
    if not FULL:
        identities = {k: identities[k] for k in ("B's owner", "B's viewer", "A's owner")}
    ids = {**world.a_ids()}
    cases = 0
    for spec in STAFF_ROUTES:
        path = fill_path(spec.path, ids_with_placeholders(ids, spec))
        for who, member in identities.items():
            r = call(module_api, spec, path, member.token)
            assert r.status == 403, f"{spec.method} {spec.path} as {who}: {r.status} {r.json}"
            error = standard_error(r, 403, "staff_only")
            assert "staff" in error["message"], (spec.method, spec.path, who)
            cases += 1
    figures.record("staff routes", routes=len(STAFF_ROUTES), identities=len(identities), cases=cases)
    # The staff member does reach them (the 403 is about staff, not about the route).
    assert module_api.request("GET", "/v1/admin/providers", token=world.staff.token).status == 200
    assert snapshot(module_api, world) == before


# --- lists and reads ------------------------------------------------------------------------

def _query_with_foreign_ids(spec: RouteSpec, a_ids: dict[str, str]) -> list[str]:
    """Filters naming A's records (``?sector_id=<A's>``), one at a time."""
    if spec.query is None:
        return []
    return [f"{name}={a_ids[name]}" for name in spec.query.model_fields if name in a_ids]


def test_no_read_of_b_ever_shows_a_record_of_a(module_api, world):
    roles = ROLES if FULL else ("owner", "viewer")
    a_ids = {k: v for k, v in world.a.ids.items()}
    cases = routes = 0
    for spec in ROUTES:
        if spec.method != "GET" or spec.auth != "user":
            continue
        own = ids_with_placeholders(world.b_ids(), spec)
        path = fill_path(spec.path, own)
        queries = ["", *(_query_with_foreign_ids(spec, a_ids))]
        routes += 1
        for role in roles:
            member = world.b.members[role]
            for query in queries:
                url = f"{path}?{query}" if query else path
                r = module_api.request("GET", url, token=member.token)
                label = f"GET {url} as B's {role}"
                assert r.status < 500, label
                assert not leaks(r.raw, world.a.markers), f"{label} leaked {leaks(r.raw, world.a.markers)}"
                if r.status == 200 and query and isinstance(r.json, dict) and "items" in r.json:
                    assert r.json["items"] == [], f"{label}: a filter on A's id found items"
                cases += 1
    figures.record("reads of B", routes=routes, roles=len(roles), cases=cases)


# --- cursors --------------------------------------------------------------------------------

def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(cursor: str) -> tuple[dict[str, Any], str]:
    payload, sig = cursor.split(".", 1)
    return json.loads(_unb64(payload)), sig


def _sign(payload: bytes) -> str:
    """A cursor signed with the server's key, as only the server can (a leaked key, a bug)."""
    from chalicelib.models import pages as pagination

    sig = hmac.new(pagination._key(), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(sig)}"


def _list_path(spec: RouteSpec, ids: dict[str, str]) -> str | None:
    params = path_params(spec.path)
    if params - (set(ids) | GLOBAL_PARAMS):
        return None
    return fill_path(spec.path, ids)


def _first_cursor(api: Any, path: str, token: str) -> str | None:
    r = api.request("GET", f"{path}?limit=1", token=token)
    assert r.status == 200, (path, r.status, r.json)
    return r.json.get("next_cursor")


def forged_cursors(a_cursor: str | None, b_cursor: str | None, other_a_cursor: str | None) -> dict[str, str]:
    """Cursors B may send. Each must be refused with 400 invalid_cursor."""
    cursors = {
        "garbage": "x",
        "two garbage parts": "abc.def",
        "not base64": "!!!.???",
        "non-ASCII": "é.é",
        "only a dot": ".",
        "longest allowed garbage": "A" * 1000 + "." + "B" * 1000,
        "JSON, unsigned": _b64(json.dumps({"k": {}, "s": "x"}).encode()) + ".",
    }
    if other_a_cursor:
        cursors["A's cursor of another list"] = other_a_cursor
    if a_cursor:
        payload, sig = _parts(a_cursor)
        cursors["A's cursor of this list"] = a_cursor
        cursors["A's cursor, signature truncated"] = a_cursor[:-4]
        if b_cursor:
            b_payload, b_sig = _parts(b_cursor)
            cursors["A's key in B's scope, A's signature"] = (
                _b64(json.dumps({"k": payload["k"], "s": b_payload["s"]}, separators=(",", ":"),
                                sort_keys=True).encode()) + "." + sig)
            cursors["A's key in B's scope, B's signature"] = (
                _b64(json.dumps({"k": payload["k"], "s": b_payload["s"]}, separators=(",", ":"),
                                sort_keys=True).encode()) + "." + b_sig)
    if b_cursor:
        payload_text, sig = b_cursor.split(".", 1)
        flipped = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
        cursors["B's cursor, signature flipped"] = f"{payload_text}.{flipped}"
        cursors["B's cursor, payload edited"] = _b64(_unb64(payload_text).replace(b'"s":"', b'"s":"x')) + "." + sig
    return cursors


def server_signed_oddities(a_cursor: str | None, b_cursor: str | None) -> dict[str, str]:
    """Cursors signed with the server key (as if it leaked): still never a page of A's, never a 500."""
    odd = {"signed, not JSON": _sign(b"not json"), "signed, a JSON list": _sign(b"[1,2]"),
           "signed, no key": _sign(b'{"s":"x"}')}
    if a_cursor and b_cursor:
        a_payload, _ = _parts(a_cursor)
        b_payload, _ = _parts(b_cursor)
        odd["signed: A's key in B's scope"] = _sign(json.dumps({"k": a_payload["k"], "s": b_payload["s"]},
                                                               separators=(",", ":"), sort_keys=True).encode())
        odd["signed: B's scope, key not a dict"] = _sign(json.dumps({"k": "x", "s": b_payload["s"]}).encode())
    return odd


def test_cursors_only_page_the_callers_own_list(module_api, world, before):
    api, a, b = module_api, world.a.owner, world.b.owner
    a_paths = {s.path: _list_path(s, world.a_ids()) for s in LIST_ROUTES}
    b_paths = {s.path: _list_path(s, world.b_ids()) for s in LIST_ROUTES}
    a_cursors = {p: _first_cursor(api, path, a.token) for p, path in a_paths.items() if path}
    b_cursors = {p: _first_cursor(api, path, b.token) for p, path in b_paths.items() if path}
    any_a_cursor: Callable[[str], str | None] = lambda p: next(  # noqa: E731
        (c for q, c in a_cursors.items() if c and q != p), None)
    with_a_cursor = [p for p, c in a_cursors.items() if c]
    assert len(with_a_cursor) >= 10, f"too few lists of A have a second page: {with_a_cursor}"

    cases = refused = 0
    for spec in LIST_ROUTES:
        b_path = b_paths[spec.path]
        if b_path is None:
            continue
        # B's own cursor works, and pages only B's records.
        if b_cursors.get(spec.path):
            r = api.request("GET", f"{b_path}?limit=1&cursor={b_cursors[spec.path]}", token=b.token)
            assert r.status == 200, (spec.path, r.json)
            assert not leaks(r.raw, world.a.markers)
        for kind, cursor in forged_cursors(a_cursors.get(spec.path), b_cursors.get(spec.path),
                                           any_a_cursor(spec.path)).items():
            for role in (ROLES if FULL else ("owner", "viewer")):
                if not Role(role).at_least(spec.role):
                    continue  # a list of admins (audit log, API keys): the role is refused before the cursor
                r = api.request("GET", f"{b_path}?limit=1&cursor={cursor}", token=world.b.members[role].token)
                label = f"GET {spec.path} as B's {role} with {kind}"
                if r.status == 422:  # longer than the declared maximum: refused by validation
                    standard_error(r, 422)
                else:
                    assert r.status == 400, f"{label}: {r.status} {r.json}"
                    standard_error(r, 400, "invalid_cursor")
                assert not leaks(r.raw, world.a.markers), label
                cases += 1
                refused += 1
        # A's cursor on A's own list, sent by B: A's list is not B's to read at all.
        a_path, a_cursor = a_paths.get(spec.path), a_cursors.get(spec.path)
        if a_path and a_cursor and a_path != b_path:
            r = api.request("GET", f"{a_path}?limit=1&cursor={a_cursor}", token=b.token)
            assert r.status == 404, (spec.path, r.status, r.json)
            cases += 1
        for kind, cursor in server_signed_oddities(a_cursors.get(spec.path), b_cursors.get(spec.path)).items():
            r = api.request("GET", f"{b_path}?limit=1&cursor={cursor}", token=b.token)
            label = f"GET {spec.path} as B with a cursor {kind}"
            assert r.status in (200, 400), f"{label}: {r.status} {r.json}"
            if r.status == 400:
                standard_error(r, 400, "invalid_cursor")
            assert not leaks(r.raw, world.a.markers), f"{label} leaked {leaks(r.raw, world.a.markers)}"
            cases += 1
    figures.record("cursors", lists=len([p for p in b_paths.values() if p]),
                   lists_with_a_second_page=len(with_a_cursor),
                   cases=cases, refused=refused)
    assert snapshot(api, world) == before
