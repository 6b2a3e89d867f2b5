"""Runware: image inference over its HTTP API (one POST with a JSON array of tasks).

Request: ``[{"taskType": "imageInference", "taskUUID", "positivePrompt", "model", "width",
"height", "numberResults", "outputType": "base64Data", "outputFormat": "PNG",
"includeCost": true}]`` with ``Authorization: Bearer <key>``. Answer: ``{"data": [{"taskUUID",
"imageUUID", "imageBase64Data", "cost", ...}]}`` or ``{"errors": [{"code", "message", ...}]}``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import requests

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
from chalicelib.ai.types import IMAGES, ChatRequest, ChatResponse, EmbeddingResponse, ImageRequest, ImageResponse, Usage

DEFAULT_ENDPOINT = "https://api.runware.ai/v1"
_AUTH_CODES = {"invalidApiKey", "missingApiKey", "unauthorized", "insufficientCredits"}


class RunwareProvider:
    name = "runware"
    capabilities = frozenset({IMAGES})

    def __init__(self, api_key: str, *, endpoint: str | None = None, timeout: float = 90.0,
                 retry: RetryPolicy | None = None, session: requests.Session | None = None) -> None:
        self._api_key = api_key
        self._endpoint = endpoint or DEFAULT_ENDPOINT
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"RunwareProvider(endpoint={self._endpoint!r})"

    def chat(self, request: ChatRequest) -> ChatResponse:
        raise AIInvalidRequest("Runware is configured for images only here.", provider=self.name)

    def embed(self, texts: list[str], model: str) -> EmbeddingResponse:
        raise AIInvalidRequest("Runware is configured for images only here.", provider=self.name)

    def images(self, request: ImageRequest) -> ImageResponse:
        task_uuid = str(uuid.uuid4())
        task = {
            "taskType": "imageInference",
            "taskUUID": task_uuid,
            "positivePrompt": request.prompt,
            "model": request.model,
            "width": request.width,
            "height": request.height,
            "numberResults": request.n,
            "outputType": "base64Data",
            "outputFormat": "PNG",
            "includeCost": True,
        }
        body = with_retries(lambda: self._post([task]), self._retry, provider=self.name, operation="images")
        results = [item for item in body.get("data") or []
                   if isinstance(item, dict) and item.get("taskUUID") == task_uuid]
        images = []
        for item in results:
            try:
                data = base64.b64decode(item["imageBase64Data"], validate=True)
            except (KeyError, TypeError, binascii.Error):
                raise AIBadOutputError("Runware sent a result without image data.", provider=self.name) from None
            images.append(image_from_bytes(data, request.width, request.height))
        if not images:
            raise AIBadOutputError("Runware returned no image for the task.", provider=self.name)
        return ImageResponse(images, Usage(self.name, request.model, images=len(images)))

    def _post(self, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            response = self._session.post(self._endpoint, json=tasks, timeout=(10, self._timeout),
                                          headers={"Authorization": f"Bearer {self._api_key}",
                                                   "Content-Type": "application/json"})
        except requests.Timeout:
            raise AITimeout(f"Runware did not answer in {self._timeout:.0f} s.", provider=self.name) from None
        except requests.RequestException as exc:
            raise AIProviderDown(f"Runware could not be reached: {type(exc).__name__}",
                                 provider=self.name) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if status == 200 and isinstance(body, dict) and not body.get("errors"):
            return body
        raise self._error(status, body, response.headers.get("Retry-After"))

    def _error(self, status: int, body: Any, retry_after: str | None) -> AIError:
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = str(first.get("code") or "")
        detail = redact(f"{code}: {first.get('message') or ''}".strip(": "), [self._api_key]) or f"HTTP {status}"
        kw: dict[str, Any] = {"provider": self.name, "status": status}
        if status in (401, 402, 403) or code in _AUTH_CODES:
            return AIAuthError(f"Runware rejected the key or account: {detail}", **kw)
        if code.startswith("timeout"):  # e.g. timeoutProvider: the model behind Runware was too slow
            return AITimeout(f"Runware timed out: {detail}", **kw)
        if status == 429:
            return AIRateLimitError(f"Runware rate limit: {detail}", retry_after=parse_retry_after(retry_after), **kw)
        if status >= 500:
            return AIProviderDown(f"Runware failed ({status}): {detail}", **kw)
        if status == 200:
            if errors:
                return AIInvalidRequest(f"Runware refused the task: {detail}", **kw)
            return AIBadOutputError("Runware answered with something that is not its JSON.", **kw)
        return AIInvalidRequest(f"Runware refused the request ({status}): {detail}", **kw)
