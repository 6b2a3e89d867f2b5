"""The engine's handling of answers, with a scripted provider (no network, no database)."""

from __future__ import annotations

import json

import pytest

from chalicelib.ai.engine import AIEngine, Route, parse_json_answer
from chalicelib.ai.errors import AIBadOutputError
from chalicelib.ai.prompts import RenderedPrompt
from chalicelib.ai.stages import ClusterNaming, Ideas
from chalicelib.ai.types import ChatResponse, Usage
from chalicelib.services.ai_settings import EffectiveAISettings

SETTINGS = EffectiveAISettings(temperature=0.5, max_tokens=100, image_style="cartoon", image_quality="hd",
                               max_images=2, image_quality_tier="basic", image_size="1024x1024")


class Scripted:
    name = "scripted"
    capabilities = frozenset({"text"})

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests = []

    def chat(self, request):
        self.requests.append(request)
        return ChatResponse(self.answers.pop(0), Usage(self.name, request.model, input_tokens=10, output_tokens=5))


def _engine(provider) -> AIEngine:
    route = Route(provider, "m")
    return AIEngine(text=route, images=route, embeddings=route, settings=SETTINGS)


def test_a_code_fenced_answer_is_accepted():
    answer = '```json\n{"name": "N", "description": "D"}\n```'
    assert parse_json_answer(answer, ClusterNaming).name == "N"


@pytest.mark.parametrize("bad", ["[1, 2]", "null", "not json", '{"name": 3}', '{"ideas": []}'])
def test_wrong_shapes_are_repaired_once(bad):
    good = json.dumps({"ideas": [{"title": "T", "description": "D", "primary_keyword": "k",
                                  "outline": [{"heading": "H"}]}]})
    provider = Scripted(bad, good)
    result = _engine(provider).generate_json(RenderedPrompt("sys", "user"), Ideas)
    assert result.attempts == 2 and result.data.ideas[0].title == "T"
    assert result.usage == Usage("scripted", "m", input_tokens=20, output_tokens=10)
    first, second = provider.requests
    assert second.messages[: len(first.messages)] == first.messages  # the repair extends the conversation
    assert second.messages[-2] == {"role": "assistant", "content": bad}


def test_settings_are_the_defaults_of_each_call_and_can_be_overridden():
    provider = Scripted('{"name": "N", "description": ""}', '{"name": "N", "description": ""}')
    engine = _engine(provider)
    engine.generate_json(RenderedPrompt("s", "u"), ClusterNaming)
    engine.generate_json(RenderedPrompt("s", "u"), ClusterNaming, temperature=0.0, max_tokens=7)
    assert [(r.temperature, r.max_tokens, r.json_mode) for r in provider.requests] == [(0.5, 100, True),
                                                                                      (0.0, 7, True)]


def test_two_bad_answers_raise_with_the_usage_attached():
    with pytest.raises(AIBadOutputError, match="name") as info:
        _engine(Scripted('{"description": "x"}', '{"description": "y"}')).generate_json(
            RenderedPrompt("s", "u"), ClusterNaming)
    assert info.value.usage.input_tokens == 20
