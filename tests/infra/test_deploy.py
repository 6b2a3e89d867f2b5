"""``make deploy`` / ``make deploy-dry``: the commands, and what they do on a first create, a retry after
a failed first create, and an update. The AWS CLI and make are stand-ins on PATH that record their
arguments and answer ``describe-stacks`` with the stack status of the scenario."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from infra.cloud import deploy, template
from infra.console_headers import IMMUTABLE_CACHE, REVALIDATE_CACHE

ROOT = Path(__file__).resolve().parents[2]

FAKE_AWS = """#!/bin/bash
echo "aws $*" >> "$CALLS"
case "$*" in
  *"configure get region"*) echo "eu-west-1" ;;
  *"sts get-caller-identity"*) echo "111122223333" ;;
  *"s3api head-bucket"*) exit 1 ;;
  *"describe-stacks"*"ConsoleBucketName"*) echo "seo-prod-consolebucket-abc123" ;;
  *"describe-stacks"*"StackStatus"*) if [ "$STACK_STATUS" = NONE ]; then echo "Stack does not exist" >&2; exit 254; fi
                                     echo "$STACK_STATUS" ;;
esac
exit 0
"""
FAKE_MAKE = """#!/bin/bash
echo "make $*" >> "$CALLS"
"""


def _fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("aws", FAKE_AWS), ("make", FAKE_MAKE)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def _deploy(tmp_path: Path, status: str, *args: str, path: str | None = None) -> tuple[int, list[str], str]:
    calls = tmp_path / "calls.log"
    calls.unlink(missing_ok=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "HOME": str(tmp_path / "home"),
           "CALLS": str(calls), "STACK_STATUS": status, "PYTHONPATH": str(ROOT),
           "PATH": path if path is not None else f"{_fake_bin(tmp_path)}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "infra.cloud.deploy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return proc.returncode, lines, proc.stdout + proc.stderr


def _deploys(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("aws cloudformation deploy")]


def test_dry_run_prints_the_commands_and_runs_nothing(tmp_path: Path) -> None:
    code, calls, out = _deploy(tmp_path, "NONE", "--stage", "prod", "--dry-run")
    assert code == 0 and calls == []
    assert out == deploy.script(deploy.Options(stage="prod"))
    assert out.splitlines()[3] == "make package STAGE=prod"
    package = next(line for line in out.splitlines() if line.startswith("aws cloudformation package"))
    assert "--template-file build/prod/sam.json" in package and '--s3-bucket "$BUCKET"' in package
    # the template is over 51,200 bytes: deploy must be given the bucket too (the old guide's failure)
    assert all('--s3-bucket "$BUCKET"' in line for line in out.splitlines()
               if line.startswith("aws cloudformation deploy"))


def test_a_first_create_goes_unprotected_then_protects_the_tables(tmp_path: Path) -> None:
    code, calls, out = _deploy(tmp_path, "NONE", "--stage", "prod", "--alarm-email", "ops@example.com")
    assert code == 0, out
    assert calls[0] == "make package STAGE=prod"
    assert "aws s3 mb s3://seo-content-engine-deploy-111122223333-eu-west-1 --region eu-west-1" in calls
    deploys = _deploys(calls)
    assert len(deploys) == 2
    assert deploys[0].endswith(f"{template.DELETION_PROTECTION_PARAMETER}=false")
    assert deploys[1].endswith(f"{template.DELETION_PROTECTION_PARAMETER}=true")
    assert all("--stack-name seo-content-engine-prod" in d and "AlarmEmail=ops@example.com" in d for d in deploys)
    assert not any("delete-stack" in c for c in calls)
    secret = tmp_path / "home/.config/seo-content-engine/prod-signing-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text().strip()) >= 32
    assert f"AppSigningSecret={secret.read_text().strip()}" in deploys[0]


def test_the_console_is_built_first_and_uploaded_after_the_stack_assets_before_index(tmp_path: Path) -> None:
    code, calls, out = _deploy(tmp_path, "UPDATE_COMPLETE", "--stage", "prod")
    assert code == 0, out
    assert calls[:2] == ["make package STAGE=prod", "make web"]  # a console that does not build stops the deploy
    syncs = [c for c in calls if c.startswith("aws s3 sync")]
    assert len(syncs) == 2
    last_deploy = calls.index(_deploys(calls)[-1])
    assert last_deploy < calls.index(syncs[0]) < calls.index(syncs[1])
    assets, rest = syncs
    assert assets.startswith("aws s3 sync web/dist/assets s3://seo-prod-consolebucket-abc123/assets ")
    assert f"--cache-control {IMMUTABLE_CACHE}" in assets and "--delete" not in assets  # old chunks stay
    assert rest.startswith("aws s3 sync web/dist s3://seo-prod-consolebucket-abc123 ")
    assert f"--cache-control {REVALIDATE_CACHE}" in rest and "--exclude assets/*" in rest and "--delete" in rest


def test_a_deploy_stops_when_the_stack_names_no_console_bucket(tmp_path: Path) -> None:
    bin_dir = _fake_bin(tmp_path)
    aws = bin_dir / "aws"
    aws.write_text(aws.read_text().replace('echo "seo-prod-consolebucket-abc123"', "echo ''"))
    code, calls, out = _deploy(tmp_path, "UPDATE_COMPLETE", "--stage", "prod", path=f"{bin_dir}{os.pathsep}"
                               f"{os.environ['PATH']}")
    assert code != 0 and "no ConsoleBucketName output" in out
    assert not any(c.startswith("aws s3 sync") for c in calls)


def test_a_retry_after_a_failed_first_create_deletes_the_empty_stack_first(tmp_path: Path) -> None:
    code, calls, out = _deploy(tmp_path, "ROLLBACK_COMPLETE", "--stage", "prod", "--region", "us-east-2")
    assert code == 0, out
    delete = calls.index("aws cloudformation delete-stack --region us-east-2 --stack-name seo-content-engine-prod")
    wait = calls.index("aws cloudformation wait stack-delete-complete --region us-east-2 "
                       "--stack-name seo-content-engine-prod")
    first_deploy = calls.index(_deploys(calls)[0])
    assert delete < wait < first_deploy
    assert [d.rsplit("=", 1)[1] for d in _deploys(calls)] == ["false", "true"]


def test_an_update_keeps_the_tables_protected_and_the_secret(tmp_path: Path) -> None:
    _deploy(tmp_path, "NONE", "--stage", "prod")
    secret = (tmp_path / "home/.config/seo-content-engine/prod-signing-secret").read_text()
    code, calls, out = _deploy(tmp_path, "UPDATE_COMPLETE", "--stage", "prod")
    assert code == 0, out
    deploys = _deploys(calls)
    assert len(deploys) == 1 and deploys[0].endswith(f"{template.DELETION_PROTECTION_PARAMETER}=true")
    assert (tmp_path / "home/.config/seo-content-engine/prod-signing-secret").read_text() == secret


def test_a_stage_without_retained_data_has_no_protection_step(tmp_path: Path) -> None:
    assert "dev" not in template.RETAIN_STAGES
    code, calls, out = _deploy(tmp_path, "NONE", "--stage", "dev", "--region", "eu-west-1")
    assert code == 0, out
    deploys = _deploys(calls)
    assert len(deploys) == 1 and template.DELETION_PROTECTION_PARAMETER not in deploys[0]


def test_without_the_aws_cli_it_says_what_to_install_and_runs_nothing(tmp_path: Path) -> None:
    # only the interpreter's folder (a venv's bin/ has no aws)
    python_dir = Path(sys.executable).parent
    assert not (python_dir / "aws").exists()
    code, calls, out = _deploy(tmp_path, "NONE", "--stage", "prod", path=str(python_dir))
    assert code == 2 and calls == []
    assert "The AWS CLI is not installed" in out and "make deploy STAGE=prod" in out


def test_the_makefile_targets_run_this_module() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "-m infra.cloud.deploy --stage $(STAGE) --dry-run" in makefile
    assert "-m infra.cloud.deploy --stage $(STAGE) $(DEPLOY_FLAGS)" in makefile
    assert "-m infra.cloud.deploy_check --stage $(STAGE)" in makefile


def test_the_deploy_guide_shows_the_very_commands_of_make_deploy() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    commands = [line for line in deploy.script(deploy.Options(stage="prod")).splitlines() if not line.startswith("#")]
    block = guide[guide.index("```\nmake package STAGE=prod\n"):]
    block = block[4:block.index("\n```", 4)]
    assert block.splitlines() == commands
