"""Generation follows the customer: author profile and language, content type, strategy, industry,
a task's own choices, and the account's own AI key -- through the real handlers and workers.

The AI calls go through the real ``openai`` SDK to a local server answering as OpenAI does
(``generation_server``); what each setting changed is asserted on the prompts it recorded and on
the articles written from its answers.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.services import content_types, credits, html, providers, system_config
from chalicelib.services.system_defaults import seed_system_defaults
from infra.local.worker import WorkerLoop
from tests.workers.generation_server import GenerationOpenAI, key_of, prompt_text

PLATFORM_KEY = "sk-platform-0123456789abcdef"
OWN_KEY = "sk-account-own-fedcba9876543210"
KEYWORDS = ["espresso machine", "espresso grinder", "espresso beans", "milk frother", "descaling espresso machine"]


@pytest.fixture
def openai_server(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    seed_system_defaults()
    server = GenerationOpenAI(PLATFORM_KEY, OWN_KEY)
    providers.update_provider("openai", {"api_endpoint": server.base_url}, secret_values={"api_key": PLATFORM_KEY})
    system_config.create_strategy(strategy_id="pillar-cluster", name="Pillar and cluster",
                                  instructions="Link every article to its pillar page.")
    system_config.create_strategy(strategy_id="news-first", name="News first",
                                  instructions="Open with what changed this month.")
    yield server
    server.close()


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda receive_count: 0)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status == status, r.json
    return r.json


def funded_owner(register) -> Any:
    owner = register()
    for credit_type in ("idea", "content", "image"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=500, key=f"test-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    return owner


def make_site(api, owner, name: str, industry: str, **settings: Any) -> dict:
    site = ok(api.post("/v1/sites", {"name": name, "industry_id": industry}, token=owner.token), 201)
    base = f"/v1/sites/{site['site_id']}"
    if settings:
        ok(api.patch(base, settings, token=owner.token))
    sector = ok(api.post(f"{base}/sectors", {"name": f"{name} sector"}, token=owner.token), 201)
    ok(api.post(f"{base}/keywords/import", {"sector_id": sector["sector_id"],
                                            "keywords": [{"keyword": k} for k in KEYWORDS]}, token=owner.token))
    keywords = ok(api.get(f"{base}/keywords?limit=50", token=owner.token))["items"]
    cluster = ok(api.post(f"{base}/clusters", {"sector_id": sector["sector_id"], "name": "Espresso at home"},
                          token=owner.token), 201)
    ok(api.post(f"{base}/clusters/{cluster['cluster_id']}/keywords",
                {"keyword_ids": [k["keyword_id"] for k in keywords]}, token=owner.token))
    return {"owner": owner, "base": base, "site_id": site["site_id"], "sector_id": sector["sector_id"],
            "cluster_id": cluster["cluster_id"], "name": name}


def run(api, site, loop, stage: str, **body: Any) -> dict:
    job = ok(api.post(f"{site['base']}/jobs", {"stage": stage, **body}, token=site["owner"].token), 202)
    loop.drain(max_seconds=120)
    done = ok(api.get(f"{site['base']}/jobs/{job['job_id']}", token=site["owner"].token))
    assert done["status"] == "completed", done
    return done


def profile(api, owner, **fields: Any) -> str:
    return ok(api.post("/v1/account/author-profiles", fields, token=owner.token), 201)["profile_id"]


def ideas_to_articles(api, site, loop, content_type: str) -> list[dict]:
    """Ideas of the site's cluster, the first one set to ``content_type`` and approved, then its article."""
    token = site["owner"].token
    run(api, site, loop, "generate_ideas", item_ids=[site["cluster_id"]], filter={"ideas_per_cluster": 2})
    ideas = ok(api.get(f"{site['base']}/ideas?limit=10", token=token))["items"]
    assert ideas and all(i["content_type"] in content_types.CONTENT_TYPES for i in ideas)  # proposed by the stage
    idea = ideas[0]
    ok(api.patch(f"{site['base']}/ideas/{idea['idea_id']}", {"content_type": content_type, "status": "approved"},
                 token=token))
    run(api, site, loop, "create_tasks", item_ids=[idea["idea_id"]])
    task = ok(api.get(f"{site['base']}/tasks?idea_id={idea['idea_id']}", token=token))["items"][0]
    assert task["content_type"] == content_type
    run(api, site, loop, "generate_content", item_ids=[task["task_id"]])
    return [ok(api.get(f"{site['base']}/content/{c['content_id']}", token=token))
            for c in ok(api.get(f"{site['base']}/content?task_id={task['task_id']}", token=token))["items"]]


def test_two_sites_get_articles_in_their_own_voice_language_type_and_strategy(api, register, loop, openai_server):
    owner = funded_owner(register)
    playful = profile(api, owner, name="Pia", tone="playful, first person", language="de",
                      instructions="Say 'ich' and crack a joke per section.")
    formal = profile(api, owner, name="Frank", tone="formal", language="fr-CA", instructions="Never use slang.")
    site_a = make_site(api, owner, "Kaffee", "home-garden", author_profile_id=playful, strategy_id="pillar-cluster")
    site_b = make_site(api, owner, "Cafe", "technology", author_profile_id=formal, strategy_id="news-first")

    articles_a = ideas_to_articles(api, site_a, loop, "how_to_guide")
    articles_b = ideas_to_articles(api, site_b, loop, "product_description")

    # What each site's prompts carried.
    ideas_a, ideas_b = (prompt_text(r) for r in openai_server.chats("ideas"))
    assert "playful, first person" in ideas_a and "German (de)" in ideas_a
    assert "Link every article to its pillar page." in ideas_a and "Home & Garden" in ideas_a
    assert "formal" in ideas_b and "French (fr-CA)" in ideas_b and "Open with what changed" in ideas_b
    assert "Technology" in ideas_b and "playful" not in ideas_b
    content_a, content_b = (prompt_text(r) for r in openai_server.chats("content_generation"))
    how_to, product = content_types.get("how_to_guide"), content_types.get("product_description")
    assert f"Target length: {how_to.target_words} words" in content_a and how_to.structure() in content_a
    assert "Say 'ich'" in content_a and "Link every article to its pillar page." in content_a
    assert f"Target length: {product.target_words} words" in content_b and product.structure() in content_b
    assert "Never use slang." in content_b and "Technology" in content_b
    assert all(key_of(r) == PLATFORM_KEY for r in openai_server.requests)

    # What the articles became: the type's length and structure, the profile's language, SEO fields.
    for (article,), ctype, language in ((articles_a, how_to, "de"), (articles_b, product, "fr-CA")):
        words = html.word_count(article["body_html"])
        assert ctype.in_range(words), (ctype.key, words)
        assert content_types.check(article["body_html"], words, ctype) == []
        assert article["quality_warnings"] == [] and article["content_type"] == ctype.key
        assert f'<section lang="{language}">' in article["body_html"]
        assert article["title"].startswith(f"[{language}] ") and article["language"] == language
        assert len(article["meta_title"]) <= 60 and len(article["meta_description"]) <= 160
        assert article["slug"] and article["slug"] == article["slug"].lower()
        assert article["json_ld"][0]["@type"] == "Article" and article["json_ld"][0]["inLanguage"] == language
        assert bool(article["faq"]) == ctype.faq == (len(article["json_ld"]) == 2)
        assert article["status"] == "approved"  # auto approval (the site's default) on a job started by hand

    task_a = ok(api.get(f"{site_a['base']}/tasks?limit=5", token=owner.token))["items"][0]
    assert task_a["effective_author"] == {"profile_id": playful, "scope": "account", "name": "Pia",
                                          "tone": "playful, first person", "language": "de", "source": "site"}
    keywords = ok(api.get(f"{site_a['base']}/keywords?limit=50", token=owner.token))["items"]
    assert {k["status"] for k in keywords} == {"used"}  # their idea became content

    # Images: prompts in the article's language, every image with alt text and a caption.
    article = articles_a[0]
    run(api, site_a, loop, "generate_image_prompts", item_ids=[article["content_id"]])
    assert "Language: de" in prompt_text(openai_server.chats("image_prompts")[-1])
    run(api, site_a, loop, "generate_images", item_ids=[article["content_id"]])
    images = ok(api.get(f"{site_a['base']}/images?content_id={article['content_id']}", token=owner.token))["items"]
    assert images and all(i["alt_text"].startswith("[de] ") and i["caption"].startswith("[de] ") for i in images)
    assert all(i["thumbnail_url"] and i["status"] == "generated" for i in images)


def test_a_task_s_own_choices_beat_the_site_s(api, register, loop, openai_server):
    owner = funded_owner(register)
    playful = profile(api, owner, name="Pia", tone="playful", language="de")
    formal = profile(api, owner, name="Frank", tone="formal", language="fr-CA")
    site = make_site(api, owner, "Kaffee", "travel", author_profile_id=playful, strategy_id="pillar-cluster")
    override = ("You are an expert SEO writer with a house style: every section ends with a one-line summary.\n"
                "{{ author }}\nLanguage: {{ language }}\nStrategy: {{ strategy }}\nIndustry: {{ industry }}\n"
                "Type: {{ content_type }}\nStructure: {{ structure }}\nTarget length: {{ word_count }} words\n"
                "Title: {{ title }}\nBrief: {{ description }}\nPrimary keyword: {{ primary_keyword }}\n"
                "Secondary keywords:\n{{ secondary_keywords }}\nOutline:\n{{ outline }}")
    bad = api.post(f"{site['base']}/tasks", {"title": "T", "sector_id": site["sector_id"],
                                            "prompt_override": "{{ persona }}"}, token=owner.token)
    assert (bad.status, bad.error_code) == (422, "invalid_prompt")
    bad = api.post(f"{site['base']}/tasks", {"title": "T", "sector_id": site["sector_id"], "content_type": "poem"},
                   token=owner.token)
    assert (bad.status, bad.error_code) == (422, "invalid_content_type") and "listicle" in bad.json["error"]["message"]
    task = ok(api.post(f"{site['base']}/tasks", {
        "title": "Espresso grinders compared", "sector_id": site["sector_id"], "primary_keyword": "espresso grinder",
        "content_type": "listicle", "target_words": 900, "author_profile_id": formal, "prompt_override": override},
        token=owner.token), 201)
    assert task["effective_author"]["source"] == "task" and task["effective_author"]["language"] == "fr-CA"
    run(api, site, loop, "generate_content", item_ids=[task["task_id"]])

    prompt = prompt_text(openai_server.chats("content_generation")[-1])
    assert "every section ends with a one-line summary" in prompt  # the task's own prompt
    assert "Tone: formal" in prompt and "French (fr-CA)" in prompt and "Tone: playful" not in prompt
    assert "Target length: 900 words" in prompt and content_types.get("listicle").structure() in prompt
    content = ok(api.get(f"{site['base']}/content?task_id={task['task_id']}", token=owner.token))["items"][0]
    assert content["content_type"] == "listicle" and 675 <= content["word_count"] <= 1125
    assert content["title"].startswith("[fr-CA] ")


def test_bad_choices_are_refused_naming_the_field(api, register, openai_server):
    owner = funded_owner(register)
    other = funded_owner(register)
    foreign = profile(api, other, name="Theirs", tone="dry", language="en")
    site = make_site(api, owner, "Kaffee", "travel")
    for body, code, field in (
            ({"author_profile_id": foreign}, "unknown_author_profile", "author_profile_id"),
            ({"author_profile_id": "nope"}, "unknown_author_profile", "author_profile_id"),
            ({"strategy_id": "nope"}, "unknown_strategy", "strategy_id"),
            ({"post_types": {"landing_page": "product"}}, "unknown_post_type", "post_types.landing_page"),
            ({"post_types": {"poem": "post"}}, "invalid_content_type", "post_types.poem")):
        r = api.patch(site["base"], body, token=owner.token)
        assert (r.status, r.error_code) == (422, code), r.json
        assert r.json["error"]["details"][0]["field"] == field
    assert ok(api.patch(site["base"], {"post_types": {"landing_page": "post"}}, token=owner.token))["post_types"] == {
        "landing_page": "post"}
    for language in ("english", "de_DE", "x", "12"):
        r = api.post("/v1/account/author-profiles", {"name": "N", "language": language}, token=owner.token)
        assert r.status == 422, language
    for language in ("de-AT", "zh-Hant-TW", "sr-Latn", "es-419"):
        ok(api.post("/v1/account/author-profiles", {"name": "N", "language": language}, token=owner.token), 201)


def test_an_own_key_is_checked_on_save_and_used_for_that_account_only(api, register, loop, openai_server):
    mine, theirs = funded_owner(register), funded_owner(register)
    r = api.put("/v1/account/ai-keys/openai", {"api_key": "sk-wrong-key-123456789"}, token=mine.token)
    assert (r.status, r.error_code) == (422, "invalid_api_key")
    assert "Incorrect API key provided" in r.json["error"]["message"]  # the provider's reason
    assert ok(api.get("/v1/account/ai-keys", token=mine.token))["items"] == []  # nothing stored
    r = api.put("/v1/account/ai-keys/openai", {"api_key": OWN_KEY, "text_model": "no-such-model"}, token=mine.token)
    assert (r.status, r.error_code) == (422, "unknown_model")
    saved = ok(api.put("/v1/account/ai-keys/openai", {"api_key": OWN_KEY, "text_model": "gpt-4o"}, token=mine.token))
    assert OWN_KEY not in str(saved) and saved["api_key_hint"].endswith(OWN_KEY[-4:])
    assert saved["models"] == {"text": "gpt-4o"}
    assert key_of(openai_server.requests[-1]) == OWN_KEY  # the check was a real call on the key

    site_mine = make_site(api, mine, "Mine", "travel")
    site_theirs = make_site(api, theirs, "Theirs", "travel")
    before = credits.balances(mine.account_id)["idea"]["available"]
    run(api, site_mine, loop, "generate_ideas", item_ids=[site_mine["cluster_id"]])
    run(api, site_theirs, loop, "generate_ideas", item_ids=[site_theirs["cluster_id"]])

    by_site = {name: [r for r in openai_server.chats("ideas") if f"Sector: {name} sector" in prompt_text(r)]
               for name in ("Mine", "Theirs")}
    assert by_site["Mine"] and {key_of(r) for r in by_site["Mine"]} == {OWN_KEY}
    assert {r.body["model"] for r in by_site["Mine"]} == {"gpt-4o"}  # the model the account chose
    assert by_site["Theirs"] and {key_of(r) for r in by_site["Theirs"]} == {PLATFORM_KEY}
    # On its own key: recorded in the ledger with its usage, at the plan's price for own keys (0 by default).
    entries = [e for e in CreditLedgerEntry.query(mine.account_id) if e.operation == "generate_ideas"]
    assert len(entries) == 1 and int(entries[0].delta) == 0 and entries[0].note == "own key"
    assert int(entries[0].input_tokens) > 0 and entries[0].model == "gpt-4o"
    assert credits.balances(mine.account_id)["idea"]["available"] == before
    charged = [e for e in CreditLedgerEntry.query(theirs.account_id) if e.operation == "generate_ideas"]
    assert len(charged) == 1 and int(charged[0].delta) < 0
