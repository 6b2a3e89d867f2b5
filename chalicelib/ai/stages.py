"""The AI stages of the pipeline: their prompt variables and the JSON their answers must have.

A stage's name is also its prompt type. Its variables are the contract between the code
that calls the stage and every prompt written for it (global, account, task override): a
prompt may use any of them and no other, and the caller must give them all.

Every answer is a JSON object (JSON mode needs an object at the top), so lists are
wrapped: ``{"ideas": [...]}``, ``{"images": [...]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    # Models add keys now and then; ignoring them beats failing a paid call over them.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ClusterNaming(_Answer):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(max_length=2000)


class OutlineSection(_Answer):
    heading: str = Field(min_length=1, max_length=255)
    subheadings: list[str] = Field(default_factory=list, max_length=12)


class Idea(_Answer):
    title: str = Field(min_length=1, max_length=255)
    description: str = Field(max_length=5000)
    primary_keyword: str = Field(min_length=1, max_length=255)
    secondary_keywords: list[str] = Field(default_factory=list, max_length=30)
    outline: list[OutlineSection] = Field(min_length=1, max_length=20)
    content_type: str = Field("", max_length=40)  # one of the types the prompt lists


class Ideas(_Answer):
    ideas: list[Idea] = Field(min_length=1, max_length=50)


class Question(_Answer):
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=5000)


class Article(_Answer):
    title: str = Field(min_length=1, max_length=255)
    html: str = Field(min_length=1)
    meta_title: str = Field(min_length=1, max_length=255)
    meta_description: str = Field(min_length=1, max_length=500)
    excerpt: str = Field(max_length=2000)
    slug: str = Field("", max_length=200)
    faq: list[Question] = Field(default_factory=list, max_length=20)


class ImagePrompt(_Answer):
    prompt: str = Field(min_length=1, max_length=2000)
    alt_text: str = Field(max_length=255)
    caption: str = Field("", max_length=500)
    position: int = Field(ge=0, le=100)
    is_featured: bool = False


class ImagePrompts(_Answer):
    images: list[ImagePrompt] = Field(min_length=1, max_length=9)


@dataclass(frozen=True)
class Stage:
    name: str
    schema: type[BaseModel]
    # Order matters: the rendered prompt keeps the rarely-changing ones first.
    variables: tuple[str, ...]
    operation_type: str  # CreditCostConfig key, as billing names it

    def schema_instructions(self) -> str:
        return schema_instructions(self.schema)


def schema_instructions(schema: type[BaseModel]) -> str:
    """The fixed tail of the system message: how to answer. Static, so it is cached too."""
    spec = json.dumps(schema.model_json_schema(), separators=(",", ":"), sort_keys=True)
    return ("Answer with one JSON object only, no prose and no code fences. "
            f"It must validate against this JSON Schema: {spec}")


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("clustering", ClusterNaming, ("sector", "keywords"), "cluster_keywords"),
        Stage("ideas", Ideas, ("author", "language", "strategy", "industry", "content_types", "sector", "count",
                               "cluster_name", "cluster_description", "keywords"), "generate_ideas"),
        Stage("content_generation", Article,
              ("author", "language", "strategy", "industry", "content_type", "structure", "word_count", "title",
               "description", "primary_keyword", "secondary_keywords", "outline"), "generate_content"),
        Stage("image_prompts", ImagePrompts, ("image_style", "max_images", "language", "title", "content"),
              "generate_image_prompts"),
    )
}


def get_stage(name: str) -> Stage:
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown AI stage {name!r}; known: {', '.join(STAGES)}") from None
