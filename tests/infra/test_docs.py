"""The docs name only what exists: every `make` target, environment variable, route and file path
mentioned in README.md and docs/*.md is found in the Makefile, the code, the route table, the disk.

What counts as a mention (so the rules stay predictable):
- a make target: ``make <target>`` anywhere in the text;
- an environment variable: ``NAME=value`` or ``$NAME``/``${NAME}`` in code, or a backticked
  ``NAME`` on a line that says "environment", "env" or "variable"; it exists when the code or the
  Makefile names it (a quoted "NAME" in a .py file, a make variable, .chalice/config.json), or it
  is a shell variable the same code block assigns, or one of AWS's own;
- a route: a backticked ``/v1/...`` path (with or without its method): some route of the manifest
  has that shape (a ``{param}`` or a literal id matches a path parameter);
- a file path: a backticked path under a top directory of the repository, or a relative markdown link.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_DIRS = ("chalicelib/", "infra/", "tests/", "docs/", "web/", "wordpress-plugin/", ".chalice/")
TOP_FILES = ("README.md", "LICENSE", "Makefile", "app.py", "pyproject.toml", "requirements.txt",
             "requirements-dev.txt")
# Made by a command, not kept in git: a doc may name them before they exist.
GENERATED = ("build/", "web/src/api/generated", ".local/", ".chalice/deployments/", "bench.json", "web/dist",
             "web/node_modules", ".cache/", ".venv/", "chalicelib/vendor", "infra/bench/results")
AWS_OWN = re.compile(r"^(AWS_[A-Z_]+|PATH|HOME|PYTHONPATH|CI|LANG)$")
FENCE = re.compile(r"```.*?```", re.S)
SPAN = re.compile(r"`([^`\n]+)`")


def _text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _code(text: str) -> list[str]:
    """Code blocks and inline code spans."""
    return [*FENCE.findall(text), *SPAN.findall(FENCE.sub("", text))]


def _where(doc: Path, text: str, needle: str) -> str:
    line = text[: text.find(needle)].count("\n") + 1 if needle in text else 0
    return f"{doc.relative_to(ROOT)}:{line}"


# --- what exists ----------------------------------------------------------------------------------

def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9_-]*)\s*:(?!=)", makefile, re.M))


def known_variables() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.glob("*.py"), *(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "infra").rglob("*.py"),
                 *(ROOT / "tests").rglob("*.py")]:
        if path == Path(__file__).resolve():
            continue  # this file's own examples of what does not exist
        names.update(re.findall(r"[\"']([A-Z][A-Z0-9_]{2,})[\"']", path.read_text(encoding="utf-8")))
    for path in (ROOT / "web").glob("*.ts"):  # the console's dev server (vite.config.ts)
        names.update(re.findall(r"process\.env\.([A-Z][A-Z0-9_]+)", path.read_text(encoding="utf-8")))
    makefile = (ROOT / "Makefile").read_text()
    names.update(re.findall(r"^([A-Z][A-Z0-9_]*)\s*[:?+]?=", makefile, re.M))
    names.update(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", makefile))
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    names.update(config.get("environment_variables", {}))
    for stage in config["stages"].values():
        names.update(stage.get("environment_variables", {}))
    return names


def route_shapes() -> list[tuple[str, list[str]]]:
    manifest = json.loads((ROOT / "chalicelib" / "manifest.json").read_text())
    return [(r["method"], r["path"].strip("/").split("/")) for r in manifest["routes"]]


# --- what the docs mention -----------------------------------------------------------------------

def mentioned_targets(text: str) -> set[str]:
    return {t for block in _code(text) for t in re.findall(r"\bmake ([a-z][a-z0-9_-]*)", block)}


def mentioned_variables(text: str) -> set[str]:
    found: set[str] = set()
    blocks = "\n".join(FENCE.findall(text))
    assigned = set(re.findall(r"(?<![\w-])([A-Z][A-Z0-9_]{2,})=", blocks))
    referenced = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]{2,})", blocks))
    shell = assigned & referenced  # a variable of the doc's own script (REGION=..., then $REGION)
    found |= (assigned | referenced) - shell
    for span in SPAN.findall(FENCE.sub("", text)):
        found |= set(re.findall(r"(?<![\w-])([A-Z][A-Z0-9_]{2,})=", span)) - {"KEY", "NAME"}  # `KEY=value`
    for line in FENCE.sub("", text).splitlines():
        if re.search(r"\benv(ironment)?\b|\bvariables?\b", line, re.I):
            found |= {name for name in SPAN.findall(line) if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+", name)}
    return {name for name in found if not AWS_OWN.match(name)}


def mentioned_routes(text: str) -> set[tuple[str | None, str]]:
    out: set[tuple[str | None, str]] = set()
    for span in SPAN.findall(text):
        for methods, path in re.findall(r"(?:\b((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:POST|PUT|PATCH|DELETE))*)\s+)?"
                                        r"(?<![\w/-])(/v1/[^\s`?#\"']*)", span):
            if any(mark in path for mark in ("...", "\u2026", "*", "<")):
                continue
            out.add((methods or None, path.rstrip("/.,;:)")))
    return out


def mentioned_paths(doc: Path, text: str) -> set[str]:
    out: set[str] = set()
    for span in SPAN.findall(text):
        for token in re.split(r"[\s,()]+", span):
            token = token.strip("'\"").rstrip(".,;:")
            token = re.split(r"::|#|:(?=\d|[A-Za-z_]+$)", token)[0]
            if token.startswith(TOP_DIRS) or token in TOP_FILES:
                out.add(token)
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            continue
        target = (doc.parent / link.split("#")[0]).resolve()
        out.add(str(target.relative_to(ROOT)) if target.is_relative_to(ROOT) else str(target))
    return {_module_file(p) for p in out if not any(c in p for c in "*<>{}$") and "..." not in p}


def _module_file(path: str) -> str:
    """``tests/stripe_support.FakeStripe`` (a module and a name in it) -> ``tests/stripe_support.py``."""
    if not (ROOT / path).exists() and re.search(r"\.[A-Za-z_]\w*$", path) and not path.endswith((".py", ".md")):
        module = path.rsplit(".", 1)[0]
        if (ROOT / f"{module}.py").exists():
            return f"{module}.py"
    return path


def _route_exists(methods: str | None, path: str, shapes: list[tuple[str, list[str]]]) -> bool:
    """A route of that shape; without a method, a path some route starts with (``/v1/auth``) will do."""
    wanted = path.strip("/").split("/")
    for route_method, segments in shapes:
        if methods and route_method not in methods.split("/"):
            continue
        if len(segments) != len(wanted) and (methods or len(segments) < len(wanted)):
            continue
        if all(s == w or s.startswith("{") or w.startswith("{") for s, w in zip(segments, wanted, strict=False)):
            return True
    return False


# --- the checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_make_target_named_exists(doc: Path) -> None:
    text, targets = _text(doc), make_targets()
    missing = sorted(t for t in mentioned_targets(text) if t not in targets)
    assert not missing, [f"{_where(doc, text, 'make ' + t)}: make {t}" for t in missing]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_environment_variable_named_is_read_somewhere(doc: Path) -> None:
    text, known = _text(doc), known_variables()
    missing = sorted(v for v in mentioned_variables(text) if v not in known)
    assert not missing, [f"{_where(doc, text, v)}: {v}" for v in missing]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_route_named_is_served(doc: Path) -> None:
    text, shapes = _text(doc), route_shapes()
    missing = sorted(f"{m or ''} {p}".strip() for m, p in mentioned_routes(text) if not _route_exists(m, p, shapes))
    assert not missing, [f"{_where(doc, text, p.split(' ')[-1])}: {p}" for p in missing]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_file_path_named_exists(doc: Path) -> None:
    text = _text(doc)
    missing = sorted(p for p in mentioned_paths(doc, text)
                     if not p.startswith(GENERATED) and not (ROOT / p).exists())
    assert not missing, [f"{_where(doc, text, p)}: {p}" for p in missing]


def test_the_checks_find_what_does_not_exist() -> None:
    text = ("Run `make no-such-target`, set `NO_SUCH_SETTING=1`, call `GET /v1/no-such-route`, "
            "read `chalicelib/no_such_module.py`.")
    assert "no-such-target" not in make_targets() and "no-such-target" in mentioned_targets(text)
    assert "NO_SUCH_SETTING" in mentioned_variables(text) and "NO_SUCH_SETTING" not in known_variables()
    assert not _route_exists("GET", "/v1/no-such-route", route_shapes())
    assert _route_exists("PATCH", "/v1/admin/providers/openai", route_shapes())
    assert "chalicelib/no_such_module.py" in mentioned_paths(ROOT / "README.md", text)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_nothing_named_lies_outside_the_repository(doc: Path) -> None:
    """A clone has nothing beside it: no doc sends the reader to ``../shared`` or the like."""
    text = _text(doc)
    named = [t for span in SPAN.findall(text) for t in re.findall(r"(?<![\w.])\.\./[\w./-]+", span)]
    named += [link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", text)
              if not re.match(r"^[a-z]+:", link) and not link.startswith("#")]
    outside = sorted(t for t in named if not (doc.parent / t).resolve().is_relative_to(ROOT))
    assert not outside, [f"{_where(doc, text, t)}: {t}" for t in outside]


FIGURE_HEADING = re.compile(r"^#+ (Figures|Measured)\b.*$", re.M)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_section_of_figures_says_when_and_with_which_command(doc: Path) -> None:
    """Figures are quoted with their date and the command that produced them (what `make bench` and the
    suites print changes with the code: an undated figure cannot be checked or refreshed)."""
    text = _text(doc)
    undated = []
    for match in FIGURE_HEADING.finditer(text):
        opening = text[match.start(): match.end() + 400]  # the heading and the start of its section
        if not (re.search(r"\b20\d\d-\d\d-\d\d\b", opening) and re.search(r"`(make [a-z-]+|[A-Z_]+=\S+ )?"
                                                                           r"[^`]*(make|python|pytest)[^`]*`",
                                                                           opening)):
            undated.append(f"{_where(doc, text, match.group(0))}: {match.group(0)}")
    assert not undated, undated
