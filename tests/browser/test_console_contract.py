"""The console is built on the API's own contract: a route change that breaks it breaks its build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from chalicelib.api.openapi import build_openapi
from chalicelib.api.routing import ROUTES
from infra import openapi_export
from infra.local.processes import ROOT

WEB = ROOT / "web"


def test_the_export_is_the_served_document_and_the_route_tables_roles(tmp_path: Path):
    openapi_export.export(tmp_path)
    assert json.loads((tmp_path / "openapi.json").read_text()) == json.loads(json.dumps(build_openapi()))
    needs = openapi_export.access_map()
    assert len(needs) == len(ROUTES)
    for spec in ROUTES:
        expected = spec.auth if spec.auth in ("none", "staff") else spec.role.value
        assert needs[f"{spec.method} {spec.path}"] == expected
    module = (tmp_path / "access.ts").read_text()
    assert '"POST /v1/sites": "admin",' in module and '"POST /v1/sites/{site_id}/jobs": "editor",' in module


def _typecheck(web: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = WEB / "node_modules" / ".bin"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    gen = subprocess.run(["npm", "run", "--silent", "gen"], cwd=web, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert gen.returncode == 0, gen.stderr
    return subprocess.run([str(bin_dir / "tsc"), "--noEmit", "-p", str(web)], cwd=web, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _copy_of_the_console(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    shutil.copytree(WEB / "src", web / "src")
    for name in ("package.json", "tsconfig.json", "vite.config.ts"):
        shutil.copy(WEB / name, web / name)
    (web / "node_modules").symlink_to(WEB / "node_modules")
    return web


def test_a_route_the_console_uses_cannot_go_without_breaking_its_build(tmp_path: Path, console_build: dict[str, Any]):
    web = _copy_of_the_console(tmp_path)  # console_build: web/node_modules and the generated files exist
    document_path = web / "src" / "api" / "generated" / "openapi.json"
    document = json.loads(document_path.read_text())
    del document["paths"]["/v1/sites/{site_id}/calendar"]  # a route the calendar screen calls
    document["components"]["schemas"]["IdeaOut"]["properties"]["headline"] = (
        document["components"]["schemas"]["IdeaOut"]["properties"].pop("title"))  # a field the ideas screen shows
    document["components"]["schemas"]["IdeaOut"]["required"] = [
        "headline" if f == "title" else f for f in document["components"]["schemas"]["IdeaOut"]["required"]]
    document_path.write_text(json.dumps(document))
    broken = _typecheck(web)
    assert broken.returncode != 0
    assert "/v1/sites/{site_id}/calendar" in broken.stdout, broken.stdout[-2000:]
    assert "src/screens/calendar.tsx" in broken.stdout
    assert "src/screens/ideas.tsx" in broken.stdout and "'title'" in broken.stdout, broken.stdout[-2000:]
