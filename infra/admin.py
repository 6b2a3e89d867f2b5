"""`make admin ARGS="..."`: the operator's commands for a deployment, with no DynamoDB console.

    make admin ARGS="promote-staff you@example.com --stage prod"
    OPENAI_API_KEY=sk-... make admin ARGS="set-keys --stage prod"
    make admin ARGS="set-default-model gpt-4o dall-e-3 --stage prod"
    make admin ARGS="grant-credits you@example.com --type content --amount 100 --reason 'launch' --stage prod"
    make admin ARGS="show --stage prod"

``--stage local`` (the default) works on the running local stack (``make run``): its endpoints and
key come from ``.local/stack.env``. Any other stage works on that stage's tables in AWS with the
caller's credentials and region (the AWS CLI's: ``AWS_PROFILE``, ``AWS_REGION``); it needs DynamoDB
read/write on the stage's tables and ``kms:Encrypt`` on its secrets key (``alias/<prefix>-secrets``).
Deployed functions cache providers and models for ``SYSTEM_CONFIG_CACHE_SECONDS`` (30 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "runware": "RUNWARE_API_KEY"}


class AdminError(RuntimeError):
    pass


def configure(stage: str, state_dir: Path = ROOT / ".local") -> str:
    """Point this process at the stage's tables and secrets key; returns what it points at.

    Runs before anything of chalicelib.models is imported: a model's table name is fixed on import."""
    if stage == "local":
        env_file = state_dir / "stack.env"
        if not env_file.exists():
            raise AdminError(f"no local stack state in {env_file}: start it with `make run`, or pass --stage STAGE")
        for line in env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                os.environ[name.strip()] = value.strip()
        return f"local stack at {os.environ.get('AWS_ENDPOINT_URL')} (tables {os.environ.get('RESOURCE_PREFIX')}-*)"
    from infra.cloud import functions

    try:
        env = functions.stage_environment(stage)
    except KeyError as exc:
        raise AdminError(str(exc.args[0])) from None
    os.environ["APP_STAGE"], os.environ["RESOURCE_PREFIX"] = env["APP_STAGE"], env["RESOURCE_PREFIX"]
    os.environ.setdefault("SECRETS_KMS_KEY_ID", functions.names(stage).kms_alias)  # imports the models: after
    from chalicelib import config

    return f"stage {stage} in {config.region()} (tables {env['RESOURCE_PREFIX']}-*)"


# --- the commands: each a service call (chalicelib.services.bootstrap) ---------------------------
# The services are imported inside each command: configure() must run before any model is imported.

def promote_staff(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services import bootstrap

    user = bootstrap.set_staff(args.email, staff=not args.revoke)
    return {"email": user.email, "account_id": user.account_id, "user_id": user.user_id, "is_staff": not args.revoke}


def set_keys(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services import bootstrap

    keys = {provider: os.environ.get(variable, "") for provider, variable in KEY_VARIABLES.items()}
    if not any(v.strip() for v in keys.values()):
        raise AdminError(f"set {' or '.join(KEY_VARIABLES.values())} in the environment first")
    stored = bootstrap.set_provider_keys(keys, updated_by="admin-cli")
    return {"keys_stored": stored, "models_in_use": bootstrap.models_in_use()}


def set_default_model(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services import bootstrap

    return {"defaults": bootstrap.set_default_models(args.models, updated_by="admin-cli"),
            "models_in_use": bootstrap.models_in_use()}


def grant_credits(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services import bootstrap, credits

    result = bootstrap.grant_credits(args.account, credit_type=args.type, amount=args.amount, reason=args.reason,
                                    key=args.key)
    entry = result.entry
    return {"granted": result.applied, "account_id": entry.account_id, "entry_key": entry.entry_key,
            "credit_type": entry.credit_type, "amount": int(entry.delta), "reason": entry.note,
            "balance": credits.balances(entry.account_id)[entry.credit_type]}


def show(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services import ai_models, bootstrap, providers

    return {"keys": {p: providers.has_api_key(p) for p in KEY_VARIABLES}, "defaults": ai_models.current_defaults(),
            "models_in_use": bootstrap.models_in_use()}


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], dict[str, Any]], str]] = {
    "promote-staff": (promote_staff, "make a user platform staff (--revoke: no longer)"),
    "set-keys": (set_keys, f"store provider keys from {', '.join(KEY_VARIABLES.values())} (replacing any)"),
    "set-default-model": (set_default_model, "make models the defaults of their types"),
    "grant-credits": (grant_credits, "give an account credits, with a reason on its ledger"),
    "show": (show, "which provider keys are set, the default models and the models in use"),
}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stage", default="local", help="local (the running local stack) or a stage of "
                        ".chalice/config.json, e.g. prod")
    common.add_argument("--state-dir", type=Path, default=ROOT / ".local", help="the local stack's state directory")
    p = argparse.ArgumentParser(prog="make admin ARGS=", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        if name == "promote-staff":
            cmd.add_argument("email")
            cmd.add_argument("--revoke", action="store_true")
        elif name == "set-default-model":
            cmd.add_argument("models", nargs="+", metavar="MODEL", help="e.g. gpt-4o-mini dall-e-3")
        elif name == "grant-credits":
            cmd.add_argument("account", help="an account id, or the e-mail of one of its users")
            cmd.add_argument("--type", required=True, help="idea, content, image or optimization")
            cmd.add_argument("--amount", required=True, type=int)
            cmd.add_argument("--reason", required=True, help="kept on the ledger entry")
            cmd.add_argument("--key", help="idempotency key: the same key grants once")
    return p


def main(argv: list[str] | None = None, *, configured: bool = False) -> dict[str, Any]:
    """Run one command. ``configured``: the environment already points at the tables (tests)."""
    args = parser().parse_args(argv)
    try:
        target = "the current environment" if configured else configure(args.stage, args.state_dir)
        out = COMMANDS[args.command][0](args)
    except AdminError as exc:
        raise SystemExit(f"make admin: {exc}") from None
    except Exception as exc:  # a domain error (NotFound, ...): its message, not a traceback
        message = getattr(exc, "message", None)
        if message is None:
            raise
        raise SystemExit(f"make admin {args.command}: {message}") from None
    print(f"# {args.command} on {target}", file=sys.stderr)
    print(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
