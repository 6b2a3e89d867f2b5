"""OpenAI: chat completions (JSON mode for structured stages), embeddings, images.

``openai`` is imported only when this provider makes its first call (cold starts of
functions that never call OpenAI stay light). The SDK's own retries are off: retries
follow ``chalicelib.ai.retry`` like every other provider's.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.ai.errors import (
    AIAuthError,
    AIBadOutputError,
    AIError,
    AIInvalidRequest,
    AIProviderDown,
    AIRateLimitError,
    AITimeout,
)
from chalicelib.ai.providers import image_from_bytes, parse_retry_after, redact
from chalicelib.ai.retry import RetryPolicy, with_retries
from chalicelib.ai.types import (
    EMBEDDINGS,
    IMAGES,
    TEXT,
    ChatRequest,
    ChatResponse,
    EmbeddingResponse,
    GeneratedImage,
    ImageRequest,
    ImageResponse,
    Usage,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
EMBEDDING_BATCH = 256


class OpenAIProvider:
    name = "openai"
    capabilities = frozenset({TEXT, EMBEDDINGS, IMAGES})

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout: float = 90.0,
                 retry: RetryPolicy | None = None) -> None:
        self._api_key = api_key
        self._base_url = base_url or DEFAULT_BASE_URL
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sdk: Any = None

    def __repr__(self) -> str:  # never show the key, e.g. in a traceback's locals
        return f"OpenAIProvider(base_url={self._base_url!r})"

    def _client(self) -> Any:
        if self._sdk is None:
            import openai

            self._sdk = openai.OpenAI(api_key=self._api_key, base_url=self._base_url, timeout=self._timeout,
                                      max_retries=0)
        return self._sdk

    def _call(self, operation: str, fn: Any) -> Any:
        def attempt() -> Any:
            try:
                return fn(self._client())
            except AIError:
                raise
            except Exception as exc:  # noqa: BLE001 - every SDK error becomes one of ours
                raise self._map_error(exc) from None

        return with_retries(attempt, self._retry, provider=self.name, operation=operation)

    def _map_error(self, exc: Exception) -> AIError:
        import openai

        message = redact(str(exc), [self._api_key])
        status = getattr(exc, "status_code", None)
        kw: dict[str, Any] = {"provider": self.name, "status": status}
        if isinstance(exc, openai.APITimeoutError):
            return AITimeout(f"OpenAI did not answer in {self._timeout:.0f} s.", **kw)
        if isinstance(exc, openai.APIConnectionError):
            return AIProviderDown(f"OpenAI could not be reached: {message}", **kw)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return AIAuthError(f"OpenAI rejected the API key: {message}", **kw)
        if isinstance(exc, openai.RateLimitError):
            headers = exc.response.headers
            ms = parse_retry_after(headers.get("retry-after-ms"))
            retry_after = ms / 1000 if ms is not None else parse_retry_after(headers.get("retry-after"))
            quota = _error_code(exc) == "insufficient_quota"
            return AIRateLimitError(f"OpenAI {'quota is used up' if quota else 'rate limit'}: {message}",
                                    retry_after=retry_after, retryable=not quota, **kw)
        if isinstance(exc, openai.APIStatusError):
            if status is not None and (status >= 500 or status == 409):
                return AIProviderDown(f"OpenAI failed ({status}): {message}", **kw)
            return AIInvalidRequest(f"OpenAI refused the request ({status}): {message}", **kw)
        if isinstance(exc, openai.APIResponseValidationError | ValueError | KeyError | TypeError):
            return AIBadOutputError(f"OpenAI sent an answer of an unexpected shape: {message}", **kw)
        return AIProviderDown(f"OpenAI call failed: {type(exc).__name__}", **kw)

    # --- text ---------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> ChatResponse:
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_completion_tokens": request.max_tokens,
        }
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        response = self._call("chat", lambda c: c.chat.completions.create(**kwargs))
        if not response.choices:
            raise AIBadOutputError("OpenAI answered with no choices.", provider=self.name)
        choice = response.choices[0]
        if getattr(choice.message, "refusal", None):
            raise AIBadOutputError("The model refused the request.", provider=self.name)
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return ChatResponse(
            text=choice.message.content or "",
            usage=Usage(self.name, request.model,
                        input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                        cached_tokens=int(getattr(details, "cached_tokens", 0) or 0)),
            finish_reason=choice.finish_reason or "stop",
        )

    # --- embeddings ---------------------------------------------------------------------

    def embed(self, texts: list[str], model: str) -> EmbeddingResponse:
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), EMBEDDING_BATCH):
            batch = texts[start:start + EMBEDDING_BATCH]
            response = self._call("embed", lambda c, b=batch: c.embeddings.create(model=model, input=b))
            ordered = sorted(response.data, key=lambda d: d.index)
            if len(ordered) != len(batch):
                raise AIBadOutputError(f"OpenAI returned {len(ordered)} embeddings for {len(batch)} texts.",
                                       provider=self.name)
            vectors.extend(list(d.embedding) for d in ordered)
            tokens += int(getattr(response.usage, "prompt_tokens", 0) or 0)
        return EmbeddingResponse(vectors, Usage(self.name, model, input_tokens=tokens))

    # --- images -------------------------------------------------------------------------

    def images(self, request: ImageRequest) -> ImageResponse:
        gpt_image = request.model.startswith("gpt-image")
        kwargs: dict[str, Any] = {"model": request.model, "prompt": request.prompt,
                                  "size": f"{request.width}x{request.height}", "n": 1}
        if gpt_image:  # always base64; its quality scale is low/medium/high
            kwargs["quality"] = "high" if request.quality == "hd" else "medium"
        else:
            kwargs["response_format"] = "b64_json"
            kwargs["quality"] = request.quality
        images: list[GeneratedImage] = []
        input_tokens = output_tokens = 0
        # DALL-E 3 makes one image per request; asking one at a time works for every model.
        for _ in range(request.n):
            response = self._call("images", lambda c: c.images.generate(**kwargs))
            for item in response.data or []:
                try:
                    data = base64.b64decode(item.b64_json or "", validate=True)
                except ValueError:
                    data = b""
                if not data:
                    raise AIBadOutputError("OpenAI sent an image without valid data.", provider=self.name)
                images.append(image_from_bytes(data, request.width, request.height))
            usage = getattr(response, "usage", None)  # gpt-image models bill tokens too
            input_tokens += int(getattr(usage, "input_tokens", 0) or 0)
            output_tokens += int(getattr(usage, "output_tokens", 0) or 0)
        if not images:
            raise AIBadOutputError("OpenAI returned no image.", provider=self.name)
        return ImageResponse(images, Usage(self.name, request.model, input_tokens=input_tokens,
                                           output_tokens=output_tokens, images=len(images)))


def _error_code(exc: Any) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner.get("code")
    return None

