"""Prompt templates: strict variables, a shared static prefix, and the resolution order."""

from __future__ import annotations

import pytest

from chalicelib.ai.prompts import PromptError, PromptTemplate, placeholders
from chalicelib.ai.stages import STAGES
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.services import prompts
from chalicelib.services.system_defaults import PROMPTS, seed_system_defaults

TEMPLATE = PromptTemplate("t", "You name clusters.\nBe brief.\n\nSector: {{ sector }}\nKeywords:\n{{keywords}}",
                          ("sector", "keywords"))


def test_render_fills_every_variable_and_keeps_instructions_in_the_system_part():
    rendered = TEMPLATE.render({"sector": "Running", "keywords": ["a shoe", "b shoe"]})
    assert rendered.system == "You name clusters.\nBe brief."
    assert rendered.user == "Sector: Running\nKeywords:\n- a shoe\n- b shoe"


def test_the_static_prefix_is_identical_across_a_batch():
    batch = [TEMPLATE.render({"sector": s, "keywords": [f"kw {i}"]}) for i, s in enumerate(["A", "B", "C"])]
    assert len({r.system for r in batch}) == 1
    messages = [r.messages(system_suffix="Answer in JSON.") for r in batch]
    assert len({m[0]["content"] for m in messages}) == 1  # the system message: instructions + schema


def test_a_missing_variable_fails_by_name():
    with pytest.raises(PromptError, match="keywords"):
        TEMPLATE.render({"sector": "Running"})
    with pytest.raises(PromptError, match="keywords"):
        TEMPLATE.render({"sector": "Running", "keywords": None})


def test_an_unknown_variable_fails_by_name():
    with pytest.raises(PromptError, match="colour"):
        TEMPLATE.render({"sector": "Running", "keywords": [], "colour": "red"})
    bad = PromptTemplate("t", "Hello {{ name }} from {{ town }}", ("name",))
    with pytest.raises(PromptError, match="town"):
        bad.render({"name": "Ana"})


def test_values_are_not_expanded_again():
    rendered = TEMPLATE.render({"sector": "{{ keywords }}", "keywords": "x"})
    assert "Sector: {{ keywords }}" in rendered.user


def test_json_braces_in_instructions_are_left_alone():
    template = PromptTemplate("t", 'Answer like {"name": "..."}.\n{{ sector }}', ("sector",))
    assert template.render({"sector": "S"}).system == 'Answer like {"name": "..."}.'


def test_every_builtin_prompt_keeps_its_placeholders_last_and_declares_its_stage_variables():
    for prompt_type, entry in PROMPTS.items():
        stage = STAGES[prompt_type]
        template = PromptTemplate(prompt_type, entry["text"], stage.variables)
        template.check()
        assert set(placeholders(entry["text"])) == set(stage.variables)
        assert len(template.static_prefix()) >= 0.75 * len(entry["text"])  # the bulk is static
        values = {name: f"<{name}>" for name in stage.variables}
        assert template.render(values).system == template.static_prefix()


# --- resolution: task override -> account -> global -> built-in -------------------------

def test_resolution_order(system_db):
    account = "acct-1"
    assert prompts.resolve_prompt(account, "clustering").source == "builtin"  # nothing seeded yet
    seed_system_defaults()
    assert prompts.resolve_prompt(account, "clustering").source == "global"
    prompts.put(account, "clustering", prompt_value="Mine.\n{{ keywords }}")
    resolved = prompts.resolve_prompt(account, "clustering")
    assert resolved.source == "account" and resolved.text.startswith("Mine.")
    assert prompts.resolve_prompt("other-account", "clustering").source == "global"
    task = prompts.resolve_prompt(account, "clustering", override="For this task.\n{{ sector }}")
    assert task.source == "task" and task.text.startswith("For this task.")
    prompts.put(account, "clustering", prompt_value="Off.\n{{ keywords }}", is_active=False)
    assert prompts.resolve_prompt(account, "clustering").source == "global"
    prompts.put(GLOBAL_SCOPE, "clustering", prompt_value="Global v2.\n{{ sector }}")
    assert prompts.resolve_prompt(account, "clustering").text.startswith("Global v2.")


def test_an_override_with_an_unknown_variable_fails_clearly(system_db):
    with pytest.raises(PromptError, match="colour"):
        prompts.resolve_prompt("acct", "clustering", override="Use {{ colour }}")
