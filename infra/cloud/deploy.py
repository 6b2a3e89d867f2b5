"""``make deploy STAGE=prod`` and ``make deploy-dry STAGE=prod``: one command to deploy a stage.

``python -m infra.cloud.deploy --stage prod [--dry-run] [--region R] [--bucket B] [--alarm-email E]``

The deploy is a short shell script (``script()``): ``--dry-run`` prints it, a real run checks
that the AWS CLI is there and runs exactly the printed text with ``bash -euo pipefail``. Run
from the repository's root, it

1. builds the artefacts (``make package``: sam.json + deployment.zip) and the web console
   (``make web``: web/dist),
2. finds the region and account, and makes the artefact bucket if it does not exist
   (``<app>-deploy-<account>-<region>``): the template is 400 KB, and CloudFormation takes a
   template over 51,200 bytes only from S3, so both ``package`` and ``deploy`` get ``--s3-bucket``,
3. makes the stage's signing secret once (a file only you can read, reused by every deploy),
4. if the stack's first create failed (``ROLLBACK_COMPLETE``), deletes the empty stack: tables,
   bucket and key are ``RetainExceptOnCreate``, so the rollback removed them and the retry
   starts clean,
5. ``aws cloudformation package`` (uploads deployment.zip) and ``aws cloudformation deploy``;
   on the stack's first create the tables' deletion protection is off (CloudFormation could not
   roll back a failed create otherwise) and a second deploy turns it on,
6. uploads the console's files to the stack's console bucket (CloudFront serves them, with
   ``/v1/*`` routed to the API: ``infra.cloud.console_site``): the hashed assets first, cached
   for a year, then ``index.html`` and the rest, revalidated on every load, so no page names an
   asset that is not there yet; assets of earlier builds stay (a page opened before the deploy
   may still load one of its screens),
7. prints the stack's outputs (``ConsoleURL``: the console's address).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.cloud import template
from infra.cloud.functions import ROOT, app_name, load_chalice_config
from infra.console_headers import IMMUTABLE_CACHE, REVALIDATE_CACHE

INSTALL_HELP = """\
The AWS CLI is not installed (`aws` is not on PATH). Install it:
  - https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html (version 2), or
  - `pip install awscli` (version 1; either works),
give it credentials that may create CloudFormation stacks and IAM roles (`aws configure`, or
AWS_PROFILE / AWS_ACCESS_KEY_ID...), then run `make deploy STAGE={stage}` again.
`make deploy-dry STAGE={stage}` prints the commands without running anything."""


@dataclass(frozen=True)
class Options:
    stage: str
    region: str | None = None
    bucket: str | None = None
    alarm_email: str | None = None
    secret_file: str | None = None


def stack_name(stage: str) -> str:
    return f"{app_name(load_chalice_config())}-{stage}"


def script(options: Options) -> str:
    """The deploy, as commands a person can paste (in order, from the repository's root)."""
    stage = options.stage
    cfg = load_chalice_config()
    if stage not in cfg["stages"]:
        raise SystemExit(f"no stage {stage!r} in .chalice/config.json")
    app = app_name(cfg)
    stack = stack_name(stage)
    build = f"build/{stage}"
    q = shlex.quote
    region = f"REGION={q(options.region)}" if options.region else \
        'REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"'
    bucket = f"BUCKET={q(options.bucket)}" if options.bucket else f'BUCKET="{app}-deploy-$ACCOUNT-$REGION"'
    secret = q(options.secret_file) if options.secret_file else f'"$HOME/.config/{app}/{stage}-signing-secret"'
    protects = stage in template.RETAIN_STAGES
    params = [f'{template.SIGNING_SECRET_PARAMETER}="$(cat "$SECRET_FILE")"']
    if options.alarm_email:
        params.append(f"{template.ALARM_EMAIL_PARAMETER}={q(options.alarm_email)}")
    deploy = (f'aws cloudformation deploy --region "$REGION" --template-file {build}/packaged.yaml '
              f'--s3-bucket "$BUCKET" --s3-prefix {stage} --stack-name {stack} '
              "--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset "
              f"--parameter-overrides {' '.join(params)}")
    lines = [
        f"# Deploy stage {stage} as the CloudFormation stack {stack}. From the repository's root, with the AWS CLI",
        "# and credentials that may create stacks and IAM roles. Paste the lines in order, or run them with",
        "# `bash -euo pipefail`, as `make deploy` does.",
        f"make package STAGE={stage}",
        "make web",
        region,
        ': "${REGION:?no AWS region: export AWS_DEFAULT_REGION=... or give make deploy REGION=...}"',
        'ACCOUNT="$(aws sts get-caller-identity --query Account --output text)"',
        "# Templates over 51,200 bytes reach CloudFormation only through S3: this bucket holds the template and",
        "# deployment.zip (made once).",
        bucket,
        'aws s3api head-bucket --bucket "$BUCKET" 2>/dev/null || aws s3 mb "s3://$BUCKET" --region "$REGION"',
        "# The key of access tokens and cursors: made once, kept (changing it signs everyone out).",
        f"SECRET_FILE={secret}",
        'test -s "$SECRET_FILE" || (umask 077 && mkdir -p "$(dirname "$SECRET_FILE")" && '
        "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > \"$SECRET_FILE\")",
        f'STATUS="$(aws cloudformation describe-stacks --region "$REGION" --stack-name {stack} '
        "--query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo NONE)\"",
        "# A first create that failed leaves an empty stack (tables, bucket and key are RetainExceptOnCreate: the",
        "# rollback removed them) that CloudFormation cannot update: delete it, then create it again.",
        f'if [ "$STATUS" = ROLLBACK_COMPLETE ]; then aws cloudformation delete-stack --region "$REGION" '
        f'--stack-name {stack} && aws cloudformation wait stack-delete-complete --region "$REGION" '
        f"--stack-name {stack} && STATUS=NONE; fi",
        f'aws cloudformation package --region "$REGION" --template-file {build}/sam.json --s3-bucket "$BUCKET" '
        f"--s3-prefix {stage} --output-template-file {build}/packaged.yaml",
    ]
    if protects:
        protection = template.DELETION_PROTECTION_PARAMETER
        lines += [
            "# Deletion protection stops a rollback from deleting a table: off for the first create, on after it.",
            'case "$STATUS" in NONE|REVIEW_IN_PROGRESS) PROTECT=false ;; *) PROTECT=true ;; esac',
            f'{deploy} {protection}="$PROTECT"',
            f'if [ "$PROTECT" = false ]; then {deploy} {protection}=true; fi',
        ]
    else:
        lines.append(deploy)
    lines += [
        "# The web console's files (web/dist) in the stack's console bucket: hashed assets first (cached a year),",
        "# then index.html and the rest (revalidated), so no page names an asset not uploaded yet; old assets stay.",
        f'CONSOLE_BUCKET="$(aws cloudformation describe-stacks --region "$REGION" --stack-name {stack} '
        "--query \"Stacks[0].Outputs[?OutputKey=='ConsoleBucketName'].OutputValue\" --output text)\"",
        ': "${CONSOLE_BUCKET:?the stack has no ConsoleBucketName output}"',
        f'aws s3 sync web/dist/assets "s3://$CONSOLE_BUCKET/assets" --region "$REGION" --only-show-errors '
        f"--cache-control {q(IMMUTABLE_CACHE)}",
        'aws s3 sync web/dist "s3://$CONSOLE_BUCKET" --region "$REGION" --only-show-errors --delete '
        f"--exclude 'assets/*' --exclude '.vite/*' --exclude bundle-report.json --cache-control {REVALIDATE_CACHE}",
        f'aws cloudformation describe-stacks --region "$REGION" --stack-name {stack} '
        "--query 'Stacks[0].Outputs' --output table",
    ]
    return "\n".join(lines) + "\n"


def run(options: Options) -> int:
    text = script(options)
    if shutil.which("aws") is None:
        print(INSTALL_HELP.format(stage=options.stage), file=sys.stderr)
        return 2
    if shutil.which("python3") is None:
        print("python3 is not on PATH (it makes the signing secret)", file=sys.stderr)
        return 2
    print(text, flush=True)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=ROOT, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, `aws configure`)")
    parser.add_argument("--bucket", help="artefact bucket (default: <app>-deploy-<account>-<region>, made if missing)")
    parser.add_argument("--alarm-email", help="e-mail address for alarms (the AlarmEmail parameter)")
    parser.add_argument("--secret-file", type=Path, help="the signing secret's file "
                                                         "(default: ~/.config/<app>/<stage>-signing-secret)")
    args = parser.parse_args(argv)
    options = Options(stage=args.stage, region=args.region or None, bucket=args.bucket or None,
                      alarm_email=args.alarm_email or None,
                      secret_file=str(args.secret_file) if args.secret_file else None)
    if args.dry_run:
        sys.stdout.write(script(options))
        return 0
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
