"""A deployment with only an OpenAI key draws its images with OpenAI: the seeded default image model
is Runware's, but a model whose provider has no key never serves a job while one with a key can."""

from __future__ import annotations

import boto3
import pytest

import app as app_module
from chalicelib.services import bootstrap, credits, providers
from chalicelib.services.system_defaults import seed_system_defaults
from infra.local.worker import WorkerLoop
from tests.unit.ai.fake_apis import FakeOpenAI

KEY = "sk-openai-only-abcdefghijklmnop"
ARTICLE = "<p>Intro.</p>" + "".join(f"<h2>Step {n}</h2><p>{'Grind, dose and tamp. ' * 30}</p>" for n in range(3))


@pytest.fixture
def openai_only(aws, monkeypatch):
    monkeypatch.setenv("SECRETS_KMS_KEY_ID",
                       boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"])
    seed_system_defaults()
    server = FakeOpenAI(KEY)
    yield server
    server.close()


def _run(api, owner, base: str, loop: WorkerLoop, stage: str, content_id: str) -> dict:
    created = api.post(f"{base}/jobs", {"stage": stage, "item_ids": [content_id]}, token=owner.token)
    assert created.status == 202, created.json
    loop.drain(max_seconds=120)
    return api.get(f"{base}/jobs/{created.json['job_id']}", token=owner.token).json


def test_an_openai_only_deployments_image_job_is_drawn_by_openai(api, register, openai_only):
    owner = register()
    credits.grant(owner.account_id, credit_type="image", amount=200, key="test-images", bucket="pack",
                  operation="pack_purchase")
    site = api.post("/v1/sites", {"name": "Coffee"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    sector = api.post(f"{base}/sectors", {"name": "Brewing"}, token=owner.token).json["sector_id"]
    content = api.post(f"{base}/content", {"title": "Espresso at home", "sector_id": sector, "body_html": ARTICLE},
                       token=owner.token).json
    loop = WorkerLoop(app_module, backoff=lambda receive_count: 0)
    prompts = _run(api, owner, base, loop, "generate_image_prompts", content["content_id"])  # offline: no key yet
    assert prompts["status"] == "completed", prompts

    bootstrap.set_provider_keys({"openai": KEY})  # what `make admin ARGS="set-keys"` does with OPENAI_API_KEY
    providers.update_provider("openai", {"api_endpoint": openai_only.base_url})
    job = _run(api, owner, base, loop, "generate_images", content["content_id"])

    assert job["status"] == "completed", job
    drawn = [r for r in openai_only.requests if r.path.endswith("/images/generations")]
    images = api.get(f"{base}/images?content_id={content['content_id']}", token=owner.token).json["items"]
    assert images and all(i["status"] == "generated" for i in images)
    assert len(drawn) == len(images) and {r.body["model"] for r in drawn} == {"dall-e-3"}
    assert all(r.headers.get("Authorization", r.headers.get("authorization")) == f"Bearer {KEY}" for r in drawn)
