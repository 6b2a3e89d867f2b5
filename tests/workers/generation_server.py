"""A local OpenAI that answers the pipeline's stages from what their prompts say.

It is ``tests.unit.ai.fake_apis.FakeOpenAI`` (the real ``openai`` SDK talks to it over HTTP), with
two additions for the worker tests of generation settings:
- it accepts several keys (the platform's and an account's own) and records which one each
  request carried (``Recorded.headers["authorization"]``);
- a chat answer is built from the rendered prompt alone -- the stage from the JSON Schema the
  system message asks for, the values from the prompt's "Name: value" lines (target length,
  structure, language, title...) -- by the offline provider's builders, so the article it
  returns follows the length, structure and language the prompt asked for, as a model would.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from chalicelib.ai.providers.offline_provider import _STAGE_BUILDERS
from tests.unit.ai.fake_apis import FakeOpenAI, Recorded, Reply

_SCHEMA = re.compile(r"must validate against this JSON Schema: (\{.*\})\s*$", re.S)


def stage_of(system: str) -> str | None:
    found = _SCHEMA.search(system)
    if not found:
        return None
    properties = set(json.loads(found.group(1)).get("properties", {}))
    for stage, marker in (("ideas", "ideas"), ("image_prompts", "images"), ("content_generation", "html"),
                          ("clustering", "name")):
        if marker in properties:
            return stage
    return None


def _line(text: str, name: str) -> str | None:
    found = re.search(rf"^{re.escape(name)}:[ \t]*(.*)$", text, re.M)
    return found.group(1).strip() if found else None


def _block(text: str, name: str) -> list[str]:
    """The "- item" lines under a "Name:" line."""
    found = re.search(rf"^{re.escape(name)}:\s*\n((?:- .*\n?)+)", text, re.M)
    return [line[2:].strip() for line in found.group(1).splitlines()] if found else []


def variables_of(stage: str, user: str) -> dict[str, Any]:
    if stage == "ideas":
        return {"count": _line(user, "Number of ideas"), "cluster_name": _line(user, "Cluster"),
                "keywords": _block(user, "Keywords")}
    if stage == "content_generation":
        words = re.search(r"(\d+)", _line(user, "Target length") or "")
        outline = user.split("Outline:", 1)[1].strip() if "Outline:" in user else ""
        try:
            sections = json.loads(outline)
        except ValueError:
            sections = []
        return {"language": _line(user, "Language"), "structure": _line(user, "Structure") or "",
                "word_count": int(words.group(1)) if words else 1200, "title": _line(user, "Title"),
                "primary_keyword": _line(user, "Primary keyword"),
                "secondary_keywords": _block(user, "Secondary keywords"), "outline": sections}
    if stage == "image_prompts":
        return {"language": _line(user, "Language"), "title": _line(user, "Article title"),
                "max_images": _line(user, "Maximum number of images"), "content": user}
    return {"keywords": _block(user, "Keywords"), "sector": _line(user, "Sector")}


class GenerationOpenAI(FakeOpenAI):
    def __init__(self, *keys: str) -> None:
        super().__init__(keys[0])
        self.keys = set(keys)

    def respond(self, path: str, headers: dict[str, str], body: Any, reply: Reply) -> tuple[int, Any, dict]:
        presented = {k.lower(): v for k, v in headers.items()}.get("authorization", "").removeprefix("Bearer ")
        if presented not in self.keys:
            return super().respond(path, headers, body, reply)  # 401, with OpenAI's message
        as_platform = {"Authorization": f"Bearer {self.api_key}"}
        if path.endswith("/chat/completions") and reply.content is None and reply.status == 200:
            system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
            user = body["messages"][-1]["content"]
            stage = stage_of(system)
            if stage is not None:
                answer = _STAGE_BUILDERS[stage](variables_of(stage, user), random.Random(len(user)))
                reply = Reply(content=json.dumps(answer, ensure_ascii=False))
        return super().respond(path, as_platform, body, reply)

    def chats(self, stage: str) -> list[Recorded]:
        """The chat requests of one stage, in the order they came."""
        out = []
        for request in self.requests:
            if not request.path.endswith("/chat/completions") or not isinstance(request.body, dict):
                continue
            system = next((m["content"] for m in request.body["messages"] if m["role"] == "system"), "")
            if stage_of(system) == stage:
                out.append(request)
        return out


def prompt_text(request: Recorded) -> str:
    return "\n".join(m["content"] for m in request.body["messages"])


def key_of(request: Recorded) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ")
