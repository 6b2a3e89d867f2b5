"""The AI engine: one interface for structured text, plain text, embeddings and images.

An ``AIEngine`` is given, for each kind of call, a ``Route`` (the provider and the model that
serve it), the settings its calls default to, and where its stage prompts come from. Choosing
those for an account (the platform's default models, their providers' keys, the account's
effective settings and prompts) is the system module's job: ``services.ai_engine.get_engine``.
This package knows nothing of accounts or storage.

Structured calls are validated against a pydantic schema; an invalid answer gets one
repair attempt (the answer and the validation errors go back to the model), then
``AIBadOutputError``. Every result carries its ``Usage`` for billing, repairs included.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from chalicelib import config
from chalicelib.ai.errors import AIBadOutputError, AIError, AINotConfigured
from chalicelib.ai.prompts import PromptTemplate, RenderedPrompt
from chalicelib.ai.providers.offline_provider import OfflineProvider
from chalicelib.ai.retry import RetryPolicy
from chalicelib.ai.stages import get_stage, schema_instructions
from chalicelib.ai.types import (
    ChatRequest,
    ChatResponse,
    EmbeddingResponse,
    GeneratedImage,
    ImageRequest,
    ImageResponse,
    Provider,
    Usage,
)
from chalicelib.observability import logger

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


@dataclass(frozen=True)
class JSONResult:
    data: BaseModel
    raw: str
    usage: Usage
    attempts: int
    prompt_source: str | None = None  # task, account, global, builtin (run_stage only)

    @property
    def offline(self) -> bool:
        return self.usage.offline


@dataclass(frozen=True)
class TextResult:
    text: str
    usage: Usage


@dataclass(frozen=True)
class EmbeddingResult:
    vectors: list[list[float]]
    usage: Usage


@dataclass(frozen=True)
class ImageResult:
    images: list[GeneratedImage]
    usage: Usage


class Unavailable:
    """Stands in for a provider that cannot be used; fails only when actually called."""

    capabilities = frozenset({"text", "embeddings", "images"})

    def __init__(self, name: str, error: AIError) -> None:
        self.name = name
        self._error = error

    def _fail(self, *_: Any) -> Any:
        raise self._error

    chat = embed = images = _fail


@dataclass(frozen=True)
class Route:
    """Which provider serves a kind of call, with which model (and the sizes an image model offers)."""

    provider: Provider
    model: str
    sizes: tuple[str, ...] = ()  # "WIDTHxHEIGHT"; empty: any size
    own_key: bool = False  # the account's own key: its usage says so (billing prices it apart)

    @property
    def provider_name(self) -> str:
        return self.provider.name


class CallSettings(Protocol):
    """What each call defaults to (``services.ai_settings.EffectiveAISettings`` for an account)."""

    temperature: float
    max_tokens: int
    image_style: str
    image_quality: str
    image_size: str


# (stage name, the task's own prompt or None) -> the template the stage's call renders.
PromptSource = Callable[[str, str | None], PromptTemplate]


def fit_size(sizes: tuple[str, ...] | list[str], width: int, height: int) -> tuple[int, int]:
    """The offered size closest in shape to the one asked for (exact if offered; any if none are listed)."""
    offered = [tuple(int(x) for x in s.split("x")) for s in sizes]
    if not offered or (width, height) in offered:
        return width, height
    ratio = width / height
    return min(offered, key=lambda s: (abs(s[0] / s[1] - ratio), abs(s[0] * s[1] - width * height)))

    @property
    def provider_name(self) -> str:
        return self.provider.name


def _summary(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
                         for e in error.errors(include_url=False, include_input=False)[:8])
    return str(error)[:300]


def parse_json_answer(text: str, schema: type[BaseModel]) -> BaseModel:
    """The answer as a schema instance; tolerates a code fence around the JSON."""
    fenced = _FENCE.match(text)
    payload = json.loads(fenced.group(1) if fenced else text)
    if not isinstance(payload, dict):
        raise ValueError("the answer is not a JSON object")
    return schema.model_validate(payload)


class AIEngine:
    def __init__(self, *, text: Route, images: Route, embeddings: Route, settings: CallSettings,
                 prompts: PromptSource | None = None) -> None:
        self.text_route = text
        self.image_route = images
        self.embedding_route = embeddings
        self.settings = settings
        self.prompts = prompts
        self._templates: dict[tuple[str, str | None], PromptTemplate] = {}

    # --- text ---------------------------------------------------------------------------

    def _chat(self, request: ChatRequest) -> ChatResponse:
        started = time.monotonic()
        response = self.text_route.provider.chat(request)
        if self.text_route.own_key:
            response = replace(response, usage=replace(response.usage, own_key=True))
        _log("chat", response.usage, started, stage=request.stage)
        return response

    def generate_json(self, prompt: RenderedPrompt, schema: type[BaseModel], *, stage: str | None = None,
                      variables: Mapping[str, Any] | None = None, temperature: float | None = None,
                      max_tokens: int | None = None) -> JSONResult:
        messages = prompt.messages(system_suffix=schema_instructions(schema))
        request = ChatRequest(messages=messages, model=self.text_route.model,
                              temperature=self.settings.temperature if temperature is None else temperature,
                              max_tokens=self.settings.max_tokens if max_tokens is None else max_tokens,
                              json_mode=True, stage=stage, variables=dict(variables or {}), schema=schema)
        response = self._chat(request)
        usage = response.usage
        try:
            return JSONResult(parse_json_answer(response.text, schema), response.text, usage, 1)
        except (ValueError, ValidationError) as first_error:
            problem = _summary(first_error)
        logger.warning("AI answer invalid; asking for a repair", extra={"stage": stage, "problem": problem})
        repair = [*messages, {"role": "assistant", "content": response.text},
                  {"role": "user", "content": f"That answer is not valid: {problem}. Reply again with only the "
                                              "corrected JSON object."}]
        response = self._chat(replace(request, messages=repair))
        usage += response.usage
        try:
            return JSONResult(parse_json_answer(response.text, schema), response.text, usage, 2)
        except (ValueError, ValidationError) as second_error:
            error = AIBadOutputError(f"The model's answer stayed invalid after a repair attempt: "
                                     f"{_summary(second_error)}", provider=self.text_route.provider_name)
            error.usage = usage  # type: ignore[attr-defined] - what the provider billed regardless
            raise error from None

    def run_stage(self, stage_name: str, variables: Mapping[str, Any], *,
                  prompt_override: str | None = None) -> JSONResult:
        """Render the stage's prompt (from ``prompts``: task override -> account -> global -> built-in)
        with ``variables`` and return the validated answer."""
        if self.prompts is None:
            raise AINotConfigured("This engine was built without a prompt source; it cannot run stages.")
        stage = get_stage(stage_name)
        cache_key = (stage_name, prompt_override)
        template = self._templates.get(cache_key)
        if template is None:
            template = self._templates[cache_key] = self.prompts(stage_name, prompt_override)
        rendered = template.render(variables)
        result = self.generate_json(rendered, stage.schema, stage=stage_name, variables=variables)
        return JSONResult(result.data, result.raw, result.usage, result.attempts, template.source)

    def generate_text(self, prompt: RenderedPrompt | str, *, temperature: float | None = None,
                      max_tokens: int | None = None) -> TextResult:
        rendered = prompt if isinstance(prompt, RenderedPrompt) else RenderedPrompt("", prompt)
        response = self._chat(ChatRequest(
            messages=rendered.messages(), model=self.text_route.model,
            temperature=self.settings.temperature if temperature is None else temperature,
            max_tokens=self.settings.max_tokens if max_tokens is None else max_tokens))
        return TextResult(response.text, response.usage)

    # --- embeddings ---------------------------------------------------------------------

    def embed(self, texts: list[str]) -> EmbeddingResult:
        if not texts:
            return EmbeddingResult([], Usage(self.embedding_route.provider_name, self.embedding_route.model))
        started = time.monotonic()
        response: EmbeddingResponse = self.embedding_route.provider.embed(list(texts), self.embedding_route.model)
        if self.embedding_route.own_key:
            response = replace(response, usage=replace(response.usage, own_key=True))
        _log("embed", response.usage, started)
        return EmbeddingResult(response.vectors, response.usage)

    # --- images -------------------------------------------------------------------------

    def image_size(self, size: str | None = None) -> tuple[int, int]:
        width, height = (int(x) for x in (size or self.settings.image_size).split("x"))
        return fit_size(self.image_route.sizes, width, height)

    def generate_images(self, prompt: str, *, n: int = 1, size: str | None = None,
                        quality: str | None = None, style: str | None = None) -> ImageResult:
        width, height = self.image_size(size)
        request = ImageRequest(prompt=prompt, model=self.image_route.model, width=width, height=height, n=n,
                               quality=quality or self.settings.image_quality,
                               style=style or self.settings.image_style)
        started = time.monotonic()
        response: ImageResponse = self.image_route.provider.images(request)
        if self.image_route.own_key:
            response = replace(response, usage=replace(response.usage, own_key=True))
        _log("images", response.usage, started)
        return ImageResult(response.images, response.usage)


def _log(operation: str, usage: Usage, started: float, **extra: Any) -> None:
    logger.info("AI call", extra={
        "operation": operation, "provider": usage.provider, "model": usage.model,
        "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens, "images": usage.images,
        "duration_ms": int((time.monotonic() - started) * 1000), **extra})


# --- choosing providers -------------------------------------------------------------------

def build_provider(provider_id: str, api_key: str, endpoint: str | None = None,
                   retry: RetryPolicy | None = None) -> Provider:
    retry = retry or RetryPolicy.from_config()
    timeout = config.ai_timeout_seconds()
    # Each client is imported once a key calls for it: Runware's brings in requests, OpenAI's the SDK.
    if provider_id == "openai":
        from chalicelib.ai.providers.openai_provider import OpenAIProvider

        return OpenAIProvider(api_key, base_url=endpoint or None, timeout=timeout, retry=retry)
    if provider_id == "runware":
        from chalicelib.ai.providers.runware_provider import RunwareProvider

        return RunwareProvider(api_key, endpoint=endpoint or None, timeout=timeout, retry=retry)
    return Unavailable(provider_id, AINotConfigured(f"The engine has no client for provider {provider_id!r}.",
                                                    provider=provider_id))


def provider_for(provider_id: str | None, api_key: str | None, endpoint: str | None = None, *, kind: str,
                 retry: RetryPolicy | None = None) -> Provider:
    """The client for a provider holding a key; without one, the offline provider (which says so in
    every ``Usage``) where that is allowed, else a stand-in that fails saying what is missing."""
    if provider_id is not None and api_key:
        return build_provider(provider_id, api_key, endpoint, retry)
    if not config.ai_offline_allowed():
        reason = (f"no API key is configured for provider {provider_id!r}" if provider_id is not None
                  else f"no default {kind} model is configured")
        return Unavailable("none", AINotConfigured(f"No {kind} provider: {reason}."))
    return OfflineProvider()
