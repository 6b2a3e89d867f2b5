"""The local stack's settings: options, the signing secret, the children's environment."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from infra.local import stack
from infra.local.processes import ROOT


def test_defaults():
    o = stack.parse_args([])
    assert (o.port, o.moto_port, o.dynamodb, o.workers, o.clock, o.clock_speed) == (8000, None, "moto", True, True,
                                                                                     1.0)
    assert o.state_dir == ROOT / ".local"


def test_options():
    o = stack.parse_args(["--port", "9000", "--moto-port", "9001", "--dynamodb", "local", "--no-workers",
                          "--no-clock", "--clock-speed", "60", "--concurrency", "3", "--state-dir", "/tmp/x"])
    assert (o.port, o.moto_port, o.dynamodb, o.workers, o.clock, o.clock_speed, o.concurrency) == (
        9000, 9001, "local", False, False, 60.0, 3)
    assert str(o.state_dir) == "/tmp/x"


def test_a_shared_pool_of_workers():
    assert stack.parse_args([]).worker_threads is None
    assert stack.parse_args(["--workers", "8"]).worker_threads == 8


def test_signing_secret_is_made_once_private_and_reused(tmp_path):
    first = stack.ensure_signing_secret(tmp_path)
    path = tmp_path / "signing-secret"
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert stack.ensure_signing_secret(tmp_path) == first
    path.write_text("short")
    assert stack.ensure_signing_secret(tmp_path) not in (first, "short")


def test_children_get_loopback_settings_and_no_real_aws(tmp_path):
    env = stack.stack_env(moto_endpoint="http://127.0.0.1:5", prefix="seo-dev", secret="s" * 40,
                          dynamodb_endpoint="http://127.0.0.1:6",
                          base={"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "t", "AWS_ENDPOINT_URL_SQS": "x",
                                "PATH": "/bin"})
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and "AWS_ENDPOINT_URL_SQS" not in env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5"
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:6"
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "us-east-1"
    assert env["ALLOW_LOOPBACK_TARGETS"] == "1" and env["RESOURCE_PREFIX"] == "seo-dev"
    assert env["APP_SIGNING_SECRET"] == "s" * 40 and env["PATH"] == "/bin"
    # DynamoDB Local rejects access keys with anything but letters and digits.
    assert re.fullmatch(r"[A-Za-z0-9]+", env["AWS_ACCESS_KEY_ID"])
    no_ddb = stack.stack_env(moto_endpoint="http://127.0.0.1:5", prefix="p", secret="s" * 40, dynamodb_endpoint=None,
                             base={})
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in no_ddb


def test_prefix_matches_the_chalice_dev_stage():
    assert stack.chalice_stage_prefix() == "seo-dev"


def test_busy_port_is_reported_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "infra.local.stack", "--port", str(port), "--state-dir",
                                 str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr
    assert not (tmp_path / "moto.log").exists()
