"""One contract, three providers: offline, OpenAI and Runware (the last two against local
servers that answer like the real APIs, 429 and 500 included).

A test that needs a capability a provider does not have (Runware writes no text; the
offline provider has no network to fail) is skipped for it, with the reason.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.ai.engine import AIEngine, Route
from chalicelib.ai.errors import AIAuthError, AIBadOutputError, AIProviderDown, AIRateLimitError, AITimeout
from chalicelib.ai.prompts import PromptTemplate
from chalicelib.ai.providers.offline_provider import OfflineProvider
from chalicelib.ai.providers.openai_provider import OpenAIProvider
from chalicelib.ai.providers.runware_provider import RunwareProvider
from chalicelib.ai.retry import RetryPolicy
from chalicelib.ai.stages import STAGES, ClusterNaming
from chalicelib.ai.types import EMBEDDINGS, IMAGES, TEXT, ImageRequest
from chalicelib.services.ai_settings import EffectiveAISettings
from tests.unit.ai.fake_apis import FakeOpenAI, FakeRunware, Reply

API_KEY = "sk-contract-test-0123456789abcdef"
SETTINGS = EffectiveAISettings(temperature=0.7, max_tokens=2000, image_style="photorealistic",
                               image_quality="standard", max_images=4, image_quality_tier="basic",
                               image_size="1024x1024")
CLUSTER_VARS = {"sector": "Running", "keywords": ["best running shoes", "trail running shoes"]}


@dataclass
class Harness:
    name: str
    provider: Any
    server: Any = None
    sleeps: list[float] | None = None

    @property
    def network(self) -> bool:
        return self.server is not None

    def needs(self, capability: str) -> None:
        if capability == "network" and not self.network:
            pytest.skip(f"{self.name}: no network, nothing to fail")
        if capability not in ("network",) and capability not in self.provider.capabilities:
            pytest.skip(f"{self.name} does not offer {capability}")

    def engine(self, text_model: str = "gpt-4o-mini", image_model: str = "dall-e-3") -> AIEngine:
        if self.name == "runware":
            image_model = "runware:97@1"
        route = lambda model: Route(self.provider, model)  # noqa: E731
        return AIEngine(text=route(text_model), images=route(image_model), embeddings=route("text-embedding-3-small"),
                        settings=SETTINGS)

    def answer_next(self, content: str, **usage: int) -> None:
        """What the (fake) model says next; the offline provider writes its own answer."""
        if self.name == "openai":
            self.server.queue(Reply(content=content, usage=usage or None))


@pytest.fixture(params=["offline", "openai", "runware"])
def harness(request):
    sleeps: list[float] = []
    retry = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, sleep=sleeps.append)
    if request.param == "offline":
        yield Harness("offline", OfflineProvider())
        return
    if request.param == "openai":
        server = FakeOpenAI(API_KEY)
        provider = OpenAIProvider(API_KEY, base_url=server.base_url, timeout=5, retry=retry)
    else:
        server = FakeRunware(API_KEY)
        provider = RunwareProvider(API_KEY, endpoint=server.endpoint, timeout=5, retry=retry)
    try:
        yield Harness(request.param, provider, server, sleeps)
    finally:
        server.close()


def _cluster_prompt():
    template = PromptTemplate("clustering", "Name the cluster.\n\nSector: {{ sector }}\n{{ keywords }}",
                              STAGES["clustering"].variables)
    return template.render(CLUSTER_VARS)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# --- text ---------------------------------------------------------------------------------

def test_structured_output_is_validated_and_usage_is_reported(harness):
    harness.needs(TEXT)
    harness.answer_next(json.dumps({"name": "Running Shoes", "description": "Shoes for running."}),
                        prompt_tokens=1200, completion_tokens=30, cached_tokens=1024)
    result = harness.engine().generate_json(_cluster_prompt(), ClusterNaming, stage="clustering",
                                            variables=CLUSTER_VARS)
    assert isinstance(result.data, ClusterNaming) and result.data.name
    assert result.attempts == 1
    usage = result.usage
    assert usage.provider == harness.name and usage.model == "gpt-4o-mini"
    assert usage.input_tokens > 0 and usage.output_tokens > 0 and usage.images == 0
    if harness.name == "openai":
        assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (1200, 30, 1024)
        sent = harness.server.requests[-1].body
        assert sent["response_format"] == {"type": "json_object"}
        assert sent["messages"][0]["role"] == "system" and "JSON Schema" in sent["messages"][0]["content"]


def test_an_invalid_answer_gets_one_repair_attempt(harness):
    harness.needs(TEXT)
    harness.needs("network")
    harness.answer_next("Sure! Here is the name: Running Shoes", prompt_tokens=100, completion_tokens=10)
    harness.answer_next(json.dumps({"name": "Running Shoes", "description": "d"}), prompt_tokens=130,
                        completion_tokens=12)
    result = harness.engine().generate_json(_cluster_prompt(), ClusterNaming)
    assert result.attempts == 2 and result.data.name == "Running Shoes"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (230, 22)  # both calls are billed
    repair = harness.server.requests[-1].body["messages"]
    assert repair[-2]["role"] == "assistant" and "not valid" in repair[-1]["content"]


def test_an_answer_invalid_twice_is_bad_output(harness):
    harness.needs(TEXT)
    harness.needs("network")
    harness.answer_next('{"name": ""}')
    harness.answer_next("still not it")
    with pytest.raises(AIBadOutputError) as info:
        harness.engine().generate_json(_cluster_prompt(), ClusterNaming)
    assert info.value.usage.input_tokens > 0  # what the provider billed anyway
    assert not info.value.retryable


def test_plain_text(harness):
    harness.needs(TEXT)
    harness.answer_next("A short answer.")
    result = harness.engine().generate_text("Say something about running shoes.")
    assert result.text and result.usage.output_tokens > 0


# --- embeddings ---------------------------------------------------------------------------

def test_embeddings_one_vector_per_text(harness):
    harness.needs(EMBEDDINGS)
    texts = ["running shoes", "trail shoes", "tax return"]
    result = harness.engine().embed(texts)
    assert len(result.vectors) == 3 and len({len(v) for v in result.vectors}) == 1
    assert result.usage.input_tokens > 0 and result.usage.model == "text-embedding-3-small"


# --- images -------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["1024x1024", "1792x1024"])
def test_images_are_real_pngs_of_the_asked_size(harness, size):
    harness.needs(IMAGES)
    width, height = (int(x) for x in size.split("x"))
    model = "runware:97@1" if harness.name == "runware" else "dall-e-3"
    result = harness.provider.images(ImageRequest(prompt="a red running shoe on a trail", model=model,
                                                  width=width, height=height, n=2))
    assert len(result.images) == 2 and result.usage.images == 2 and result.usage.provider == harness.name
    for image in result.images:
        assert image.mime_type == "image/png" and _png_size(image.data) == (width, height)
        assert (image.width, image.height) == (width, height)


def test_gpt_image_models_report_tokens_too(harness):
    harness.needs(IMAGES)
    if harness.name != "openai":
        pytest.skip("only OpenAI's GPT image models bill tokens")
    result = harness.provider.images(ImageRequest(prompt="a shoe", model="gpt-image-1", width=1024, height=1024))
    assert result.usage.images == 1 and result.usage.output_tokens == 4160
    assert "response_format" not in harness.server.requests[-1].body


def test_an_image_answer_without_image_data_is_bad_output(harness):
    harness.needs(IMAGES)
    harness.needs("network")
    harness.server.queue(Reply(body={"data": [{"revised_prompt": "x"}]} if harness.name == "openai"
                               else {"data": [{"taskType": "imageInference", "taskUUID": "other"}]}))
    with pytest.raises(AIBadOutputError):
        harness.engine().generate_images("a shoe")


# --- failures: the same error class from every provider -----------------------------------

def _call(harness):
    """The cheapest call the provider offers."""
    if TEXT in harness.provider.capabilities:
        return harness.engine().generate_text("hi")
    return harness.engine().generate_images("a shoe")


def test_429_is_retried_after_retry_after_then_succeeds(harness):
    harness.needs("network")
    harness.server.queue(Reply(status=429, headers={"Retry-After": "0.05"}))
    _call(harness)
    assert len(harness.server.requests) == 2
    assert harness.sleeps == [0.05]


def test_429_until_the_attempts_run_out_is_a_rate_limit_error(harness):
    harness.needs("network")
    harness.server.queue(*[Reply(status=429, headers={"Retry-After": "1"})] * 3)
    with pytest.raises(AIRateLimitError) as info:
        _call(harness)
    assert info.value.retryable and info.value.retry_after == 1
    assert len(harness.server.requests) == 3


def test_a_long_retry_after_is_not_slept_through(harness):
    harness.needs("network")
    harness.server.queue(Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(AIRateLimitError) as info:
        _call(harness)
    assert info.value.retry_after == 3600 and len(harness.server.requests) == 1 and harness.sleeps == []


def test_500_is_retried_with_backoff_then_provider_down(harness):
    harness.needs("network")
    harness.server.queue(*[Reply(status=500)] * 3)
    with pytest.raises(AIProviderDown) as info:
        _call(harness)
    assert info.value.status == 500 and info.value.retryable
    assert len(harness.server.requests) == 3 and len(harness.sleeps) == 2


def test_500_then_success(harness):
    harness.needs("network")
    harness.server.queue(Reply(status=503))
    _call(harness)
    assert len(harness.server.requests) == 2


def test_a_rejected_key_is_an_auth_error_not_retried_and_the_key_is_not_in_it(harness):
    harness.needs("network")
    harness.provider._api_key = "sk-wrong-key-abcdefghijklmnop"
    with pytest.raises(AIAuthError) as info:
        _call(harness)
    assert len(harness.server.requests) == 1 and not info.value.retryable
    assert "sk-wrong-key-abcdefghijklmnop" not in str(info.value)


def test_no_answer_in_time_is_a_timeout(harness):
    harness.needs("network")
    harness.provider._timeout = 0.3
    harness.provider._sdk = None  # the OpenAI client takes its timeout when it is built
    harness.provider._retry = RetryPolicy(attempts=1)
    harness.server.queue(Reply(delay=1.5))
    with pytest.raises(AITimeout):
        _call(harness)


def test_an_unreachable_provider_is_provider_down(harness):
    harness.needs("network")
    harness.server.close()
    with pytest.raises(AIProviderDown):
        _call(harness)


# --- the offline provider says what it is -------------------------------------------------

def test_offline_output_is_deterministic_and_labelled(harness):
    if harness.name != "offline":
        pytest.skip("offline only")
    engine = harness.engine()
    first = engine.generate_json(_cluster_prompt(), ClusterNaming, stage="clustering", variables=CLUSTER_VARS)
    second = engine.generate_json(_cluster_prompt(), ClusterNaming, stage="clustering", variables=CLUSTER_VARS)
    assert first.raw == second.raw and first.offline and first.usage.provider == "offline"
    image = engine.generate_images("a shoe").images[0].data
    assert b"tEXtSoftware\x00seo-content-engine offline provider" in image
    assert engine.generate_images("a shoe").images[0].data == image


def test_png_chunks_are_valid(harness):
    harness.needs(IMAGES)
    model = "runware:97@1" if harness.name == "runware" else "dall-e-3"
    data = harness.provider.images(ImageRequest(prompt="x", model=model, width=64, height=48)).images[0].data
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(kind + chunk) & 0xFFFFFFFF == crc
        if kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert len(zlib.decompress(idat)) == (64 * 3 + 1) * 48
