"""The one resolution of who writes: task -> sector -> site -> account default -> platform default."""

from __future__ import annotations

from chalicelib.models.writer import Task
from chalicelib.services import generation, sites
from chalicelib.services.system_defaults import seed_system_defaults


def _ok(r, status=200):
    assert r.status == status, r.json
    return r.json


def test_each_level_beats_the_ones_after_it(api, register):
    seed_system_defaults()
    owner = register()
    t = owner.token

    def profile(name: str, **extra) -> str:
        return _ok(api.post("/v1/account/author-profiles", {"name": name, "language": "de", **extra}, token=t),
                   201)["profile_id"]

    site = _ok(api.post("/v1/sites", {"name": "S"}, token=t), 201)
    base = f"/v1/sites/{site['site_id']}"
    sector = _ok(api.post(f"{base}/sectors", {"name": "Sec"}, token=t), 201)

    def resolved(task_profile: str | None = None) -> generation.Author:
        s = sites.get_site(owner.account_id, site["site_id"])
        sec = sites.get_sector(owner.account_id, site["site_id"], sector["sector_id"])
        return generation.effective_author(owner.account_id, s, sec, Task(author_profile_id=task_profile))

    assert (resolved().source, resolved().profile.profile_id) == ("global", "professional")
    default = profile("Default", is_default=True)
    assert (resolved().source, resolved().profile.profile_id) == ("account", default)
    on_site = profile("Site")
    _ok(api.patch(base, {"author_profile_id": on_site}, token=t))
    assert (resolved().source, resolved().profile.profile_id) == ("site", on_site)
    _ok(api.patch(f"{base}/sectors/{sector['sector_id']}", {"author_profile_id": "friendly-guide"}, token=t))
    assert (resolved().source, resolved().profile.profile_id) == ("sector", "friendly-guide")  # a global profile
    on_task = profile("Task")
    assert (resolved(on_task).source, resolved(on_task).profile.profile_id) == ("task", on_task)

    # An inactive profile is passed over, and clearing a level falls back to the next one.
    _ok(api.patch(f"/v1/account/author-profiles/{on_task}", {"is_active": False}, token=t))
    assert resolved(on_task).source == "sector"
    _ok(api.patch(f"{base}/sectors/{sector['sector_id']}", {"author_profile_id": None}, token=t))
    assert resolved().source == "site"
    author = resolved()
    assert "Write everything in German (de)." in author.prompt_text() and author.view()["language"] == "de"
