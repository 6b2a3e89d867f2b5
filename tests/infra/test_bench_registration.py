"""The bench's plain-registration app (infra.bench.package) registers what app.py registers, eagerly.

The cold-start comparison (manifest with lazy proxies vs plain registration) is only fair if both
apps serve the same routes, workers and ticks; and the verdict keeps the manifest only while it is
what holds ``import app`` within the target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.bench.package import RATIO_TARGET, Timing, plain_app, registration_verdict

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import app
routes = sorted(f"{m} {p}" for p, methods in app.app.routes.items() for m in methods)
handlers = sorted(n for n in vars(app) if n.startswith(("worker_", "tick_")))
print(json.dumps({"routes": routes, "handlers": handlers,
                  "loaded": "chalicelib.services.publishing" in sys.modules or "chalicelib.services" in sys.modules}))
"""


def _served(cwd: Path, extra_path: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": extra_path, "AWS_DEFAULT_REGION": "us-east-1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plain_registration_serves_what_the_manifest_serves_and_imports_it_all(tmp_path):
    manifest = json.loads((ROOT / "chalicelib" / "manifest.json").read_text())
    (tmp_path / "app.py").write_text(plain_app(manifest))
    plain = _served(tmp_path, str(ROOT))
    lazy = _served(ROOT, str(ROOT))
    assert plain["routes"] == lazy["routes"]
    assert plain["handlers"] == lazy["handlers"]
    assert len(plain["handlers"]) == len(manifest["queues"]) + len(manifest["schedules"])
    assert plain["loaded"] and not lazy["loaded"]  # plain imports the services at import time; lazy does not


def test_the_verdict_keeps_the_manifest_only_while_plain_registration_misses_the_target():
    cached = "all bytecode cached"
    lazy = {cached: Timing(app=0.05, bare=0.2)}
    assert "the manifest is what holds the target" in registration_verdict(lazy, {cached: Timing(1.0, 0.2)})
    within = Timing(app=0.2 * RATIO_TARGET - 0.01, bare=0.2)
    assert "the manifest is not needed" in registration_verdict(lazy, {cached: within})
