"""What goes into a provider and what comes back: requests, results and their usage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pydantic import BaseModel

TEXT, IMAGES, EMBEDDINGS = "text", "images", "embeddings"


@dataclass(frozen=True)
class Usage:
    """What one call consumed; billing turns it into credits through AIModelConfig."""

    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # part of input_tokens served from the provider's prompt cache
    images: int = 0
    own_key: bool = False  # served on the account's own key

    def __add__(self, other: Usage) -> Usage:
        return replace(self, input_tokens=self.input_tokens + other.input_tokens,
                       output_tokens=self.output_tokens + other.output_tokens,
                       cached_tokens=self.cached_tokens + other.cached_tokens,
                       images=self.images + other.images)

    @property
    def offline(self) -> bool:
        return self.provider == "offline"


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    model: str
    temperature: float = 0.7
    max_tokens: int = 4096
    json_mode: bool = False
    # What the offline provider builds its answer from (real providers read the messages).
    stage: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    schema: type[BaseModel] | None = None


@dataclass(frozen=True)
class ChatResponse:
    text: str
    usage: Usage
    finish_reason: str = "stop"


@dataclass(frozen=True)
class EmbeddingResponse:
    vectors: list[list[float]]
    usage: Usage


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    model: str
    width: int = 1024
    height: int = 1024
    n: int = 1
    quality: str = "standard"  # standard, hd
    style: str = "photorealistic"


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ImageResponse:
    images: list[GeneratedImage]
    usage: Usage


class Provider(Protocol):
    """A provider serves some of: text (chat), embeddings, images."""

    name: str
    capabilities: frozenset[str]

    def chat(self, request: ChatRequest) -> ChatResponse: ...

    def embed(self, texts: list[str], model: str) -> EmbeddingResponse: ...

    def images(self, request: ImageRequest) -> ImageResponse: ...
