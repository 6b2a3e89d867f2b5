"""Whatever the Lambda code imports, the Lambda package ships (or the runtime provides).

The venv holds dev-only packages (moto, stripe, cryptography, aws_xray_sdk...): code that
imports one of them passes every local test and fails in the cloud. This reads every import
in app.py and chalicelib/ (lazy ones inside functions included) and checks each against
requirements.txt and its dependencies. Imports guarded by ``except ImportError`` are optional.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from infra.cloud.package import RUNTIME_PROVIDED

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"app", "chalicelib"}
RUNTIME_MODULES = {m.removesuffix(".py") for tops in RUNTIME_PROVIDED.values() for m in tops}
# Shipped by `chalice package` itself (its runtime module), not by requirements.txt.
CHALICE_RUNTIME = {"chalice"}


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Try) and node in parent.body:
            for handler in parent.handlers:
                names = [handler.type] if not isinstance(handler.type, ast.Tuple) else list(handler.type.elts)
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                    return True
        node = parent
    return False


def imported_modules() -> dict[str, set[str]]:
    """Top-level module -> files importing it (unguarded imports only)."""
    found: dict[str, set[str]] = {}
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        tree = ast.parse(path.read_text(), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            if _guarded(node, parents):
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _requirement_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def shipped_distributions() -> set[str]:
    """requirements.txt and everything it pulls in (markers evaluated for this Python)."""
    from packaging.requirements import Requirement

    todo = _requirement_names(ROOT / "requirements.txt")
    seen: set[str] = set()
    while todo:
        name = _normalise(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_every_import_of_the_lambda_code_is_shipped() -> None:
    providers = metadata.packages_distributions()
    shipped = shipped_distributions()
    missing = []
    for module, files in sorted(imported_modules().items()):
        if module in sys.stdlib_module_names or module in FIRST_PARTY | RUNTIME_MODULES | CHALICE_RUNTIME:
            continue
        dists = {_normalise(d) for d in providers.get(module, [])}
        if not dists & shipped:
            missing.append(f"{module} (imported by {', '.join(sorted(files))}; installed as "
                           f"{', '.join(sorted(dists)) or 'nothing'})")
    assert not missing, ("the Lambda package would not contain: " + "; ".join(missing) +
                         ". Add it to requirements.txt (mind the 10 MB deployment.zip budget: `make package`), "
                         "or guard the import with `except ImportError` if it is optional.")


def test_the_audit_sees_lazy_imports() -> None:
    modules = imported_modules()
    assert "openai" in modules  # imported inside a function of the OpenAI provider
    assert "aws_xray_sdk" not in modules  # optional: guarded by except ImportError
