"""Prompt templates: ``{{ variable }}`` placeholders, declared variables, strict rendering.

A rendered prompt is split in two messages. The system message is everything up to the
line of the first placeholder: it is identical for every call of the template, so a batch
(fifty articles of one site) shares one long prefix, which providers' prompt caching bills
at a fraction of the price. The user message holds the rest, with the values filled in.
Templates therefore keep their instructions first and their placeholders last.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class PromptError(ValueError):
    """A template or its values do not fit together; the message names the variables."""


def placeholders(text: str) -> list[str]:
    """The variables a template uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def check_template(text: str, declared: Iterable[str]) -> None:
    """Raise PromptError if the template uses a variable that is not declared."""
    declared_set = set(declared)
    bad = [name for name in declared_set if not VARIABLE_NAME.match(name)]
    if bad:
        raise PromptError(f"Invalid variable names: {', '.join(sorted(bad))}.")
    unknown = [name for name in placeholders(text) if name not in declared_set]
    if unknown:
        raise PromptError(f"The template uses undeclared variables: {', '.join(unknown)} "
                          f"(declared: {', '.join(sorted(declared_set)) or 'none'}).")


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "\n".join(f"- {v}" for v in value)
    return json.dumps(value, ensure_ascii=False, default=str, indent=1)


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    user: str

    def messages(self, system_suffix: str = "") -> list[dict[str, str]]:
        system = "\n\n".join(part for part in (self.system, system_suffix) if part)
        out = [{"role": "system", "content": system}] if system else []
        out.append({"role": "user", "content": self.user or "Go."})
        return out


@dataclass(frozen=True)
class PromptTemplate:
    prompt_type: str
    text: str
    variables: tuple[str, ...]
    source: str = "builtin"  # task, account, global, builtin

    def check(self) -> None:
        check_template(self.text, self.variables)

    def static_prefix(self) -> str:
        """The part before the first placeholder's line: the same in every rendering."""
        match = PLACEHOLDER.search(self.text)
        if not match:
            return self.text.strip()
        line_start = self.text.rfind("\n", 0, match.start()) + 1
        return self.text[:line_start].strip()

    def render(self, values: Mapping[str, Any]) -> RenderedPrompt:
        self.check()
        declared = set(self.variables)
        unknown = sorted(set(values) - declared)
        if unknown:
            raise PromptError(f"Values given for undeclared variables of prompt {self.prompt_type!r}: "
                              f"{', '.join(unknown)}.")
        missing = sorted(name for name in declared if values.get(name) is None)
        if missing:
            raise PromptError(f"Prompt {self.prompt_type!r} needs values for: {', '.join(missing)}.")
        static = self.static_prefix()
        rest = self.text.strip()[len(static):].strip() if static else self.text.strip()
        # One pass: a value that itself contains "{{ x }}" is not expanded again.
        user = PLACEHOLDER.sub(lambda m: format_value(values[m.group(1)]), rest)
        return RenderedPrompt(system=static, user=user)
