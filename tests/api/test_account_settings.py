"""/v1/account/...: members read, admins and owners write; other accounts see nothing."""

from __future__ import annotations

import pytest

from chalicelib.services.system_defaults import seed_system_defaults
from chalicelib.services.ttl_cache import clear_all

WRITES = [
    ("PUT", "/v1/account/settings/ai.temperature", {"value": 0.5}),
    ("DELETE", "/v1/account/settings/ai.temperature", None),
    ("PUT", "/v1/account/prompts/clustering", {"prompt_value": "Mine.\n{{ keywords }}"}),
    ("DELETE", "/v1/account/prompts/clustering", None),
    ("POST", "/v1/account/author-profiles", {"name": "Ours"}),
    ("PATCH", "/v1/account/author-profiles/{profile_id}", {"name": "Renamed"}),
    ("DELETE", "/v1/account/author-profiles/{profile_id}", None),
]


@pytest.fixture
def seeded(aws):
    clear_all()
    seed_system_defaults()
    yield
    clear_all()


@pytest.fixture
def team(seeded, register, add_member):
    owner = register("owner")
    members = {"owner": owner, **{role: add_member(owner, role) for role in ("admin", "editor", "viewer")}}
    return members


def _effective(api, member) -> dict[str, dict]:
    r = api.get("/v1/account/ai-settings", token=member.token)
    assert r.status == 200
    return {item["key"]: item for item in r.json["items"]}


def test_viewers_and_editors_read_but_cannot_write(api, team):
    profile_id = api.post("/v1/account/author-profiles", {"name": "Base"}, token=team["owner"].token).json[
        "profile_id"]
    for role in ("viewer", "editor"):
        token = team[role].token
        for method, path, body in WRITES:
            r = api.request(method, path.format(profile_id=profile_id), json_body=body, token=token)
            assert (r.status, r.error_code) == (403, "insufficient_role"), f"{role}: {method} {path}"
        assert api.get("/v1/account/ai-settings", token=token).status == 200
        assert api.get("/v1/account/settings", token=token).status == 200
        assert api.get("/v1/account/prompts/clustering", token=token).status == 200
        assert api.get(f"/v1/account/author-profiles/{profile_id}", token=token).status == 200
    for role in ("admin", "owner"):
        token = team[role].token
        statuses = []
        for method, path, body in WRITES:
            if method == "POST":
                r = api.request(method, path, json_body=body, token=token)
                profile_id = r.json["profile_id"]
            else:
                r = api.request(method, path.format(profile_id=profile_id), json_body=body, token=token)
            statuses.append(r.status)
        assert statuses == [200, 200, 200, 200, 201, 200, 200], role


def test_effective_settings_follow_overrides(api, team):
    admin = team["admin"]
    before = _effective(api, admin)
    assert set(before) == {"ai.temperature", "ai.max_tokens", "ai.image_style", "ai.image_quality", "ai.max_images",
                           "ai.image_quality_tier", "ai.image_size"}
    assert before["ai.temperature"] == {"key": "ai.temperature", "value": 0.7, "source": "system",
                                        "system_default": 0.7, "rule": "float from 0 to 2",
                                        "account_can_override": True}
    assert before["ai.image_size"]["account_can_override"] is False
    overrides = {"ai.temperature": 1.2, "ai.max_tokens": 4096, "ai.image_style": "illustration",
                 "ai.image_quality": "hd", "ai.max_images": 6, "ai.image_quality_tier": "premium"}
    for key, value in overrides.items():
        r = api.put(f"/v1/account/settings/{key}", {"value": value}, token=admin.token)
        assert r.status == 200 and r.json["value"] == value and r.json["updated_by"] == admin.user_id
    after = _effective(api, team["viewer"])
    assert {k: (v["value"], v["source"]) for k, v in after.items() if k in overrides} == {
        k: (v, "account") for k, v in overrides.items()}
    assert [s["key"] for s in api.get("/v1/account/settings", token=admin.token).json["items"]] == sorted(overrides)

    bad = {"ai.temperature": 2.5, "ai.max_tokens": 0, "ai.image_style": "neon", "ai.image_quality": "4k",
           "ai.max_images": 12, "ai.image_quality_tier": "gold"}
    for key, value in bad.items():
        r = api.put(f"/v1/account/settings/{key}", {"value": value}, token=admin.token)
        assert (r.status, r.error_code) == (422, "validation_error"), key
    assert api.put("/v1/account/settings/ai.max_tokens", {"value": True}, token=admin.token).status == 422
    r = api.put("/v1/account/settings/ai.image_size", {"value": "1024x1024"}, token=admin.token)
    assert (r.status, r.error_code) == (422, "unknown_setting")
    assert api.put("/v1/account/settings/ai.temperature", {"value": 1, "extra": 1}, token=admin.token).status == 422

    assert api.delete("/v1/account/settings/ai.temperature", token=admin.token).status == 200
    assert api.delete("/v1/account/settings/ai.temperature", token=admin.token).status == 404
    assert _effective(api, admin)["ai.temperature"]["source"] == "system"


def test_other_accounts_see_none_of_it(api, team, register):
    owner = team["owner"]
    profile = api.post("/v1/account/author-profiles", {"name": "Alpha voice", "instructions": "Alpha only"},
                       token=owner.token).json
    api.put("/v1/account/settings/ai.temperature", {"value": 0.1}, token=owner.token)
    api.put("/v1/account/prompts/ideas", {"prompt_value": "Alpha ideas.\n{{ keywords }}"}, token=owner.token)
    other = register("other")
    path = f"/v1/account/author-profiles/{profile['profile_id']}"
    assert api.get(path, token=other.token).status == 404
    assert api.patch(path, {"name": "mine now"}, token=other.token).status == 404
    assert api.delete(path, token=other.token).status == 404
    assert api.get("/v1/account/author-profiles", token=other.token).json["items"] == []
    assert api.get("/v1/account/settings", token=other.token).json["items"] == []
    assert _effective(api, other)["ai.temperature"]["value"] == 0.7
    assert api.get("/v1/account/prompts/ideas", token=other.token).json["source"] == "global"
    assert api.get("/v1/account/prompts", token=other.token).json["items"] == []
    assert api.get(path, token=owner.token).json["name"] == "Alpha voice"  # untouched


def test_account_prompts(api, team):
    admin = team["admin"]
    r = api.put("/v1/account/prompts/ideas", {"prompt_value": "Ours.\n{{ keywords }} for {{ persona }}"},
                token=admin.token)
    assert (r.status, r.error_code) == (422, "invalid_prompt") and "persona" in r.json["error"]["message"]
    r = api.put("/v1/account/prompts/ideas", {"prompt_value": "Our ideas, please.\n{{ count }} ideas: {{ keywords }}"},
                token=admin.token)
    assert r.status == 200 and r.json["variables"] == ["author", "language", "strategy", "industry", "content_types",
                                                       "sector", "count", "cluster_name", "cluster_description",
                                                       "keywords"]
    effective = api.get("/v1/account/prompts/ideas", token=team["viewer"].token).json
    assert effective["source"] == "account" and effective["static_prefix_chars"] == len("Our ideas, please.")
    assert api.get("/v1/account/prompts/no_such_type", token=admin.token).status == 404
    assert api.put("/v1/account/prompts/no_such_type", {"prompt_value": "x"}, token=admin.token).status == 404
    assert [p["prompt_type"] for p in api.get("/v1/account/prompts", token=admin.token).json["items"]] == ["ideas"]
    assert api.delete("/v1/account/prompts/ideas", token=admin.token).status == 200
    assert api.get("/v1/account/prompts/ideas", token=admin.token).json["source"] == "global"


def test_author_profiles_own_and_global(api, team):
    admin = team["admin"]
    r = api.post("/v1/account/author-profiles", {"name": "Our voice", "tone": "witty", "language": "de"},
                 token=admin.token)
    assert r.status == 201 and r.json["scope"] == "account" and r.json["language"] == "de"
    assert api.post("/v1/account/author-profiles", {"name": "X", "language": "German"},
                    token=admin.token).status == 422
    own = api.get("/v1/account/author-profiles", token=team["viewer"].token).json["items"]
    assert [p["name"] for p in own] == ["Our voice"]
    shared = api.get("/v1/account/author-profiles?scope=global", token=team["viewer"].token).json["items"]
    assert {p["profile_id"] for p in shared} == {"professional", "friendly-guide", "technical-specialist"}
    assert all(p["scope"] == "global" for p in shared)
