"""Settings read from the environment, in one place.

Everything that differs between the local stack, the tests and the cloud is an
environment variable; code never reads ``os.environ`` anywhere else.
"""

from __future__ import annotations

import os
from functools import lru_cache


class ConfigError(RuntimeError):
    """A required setting is missing; the message says which and how to set it."""


def stage() -> str:
    return os.environ.get("APP_STAGE", "dev")


def resource_prefix() -> str:
    """Prefix of every table, queue and bucket name, e.g. ``seo-dev``."""
    return os.environ.get("RESOURCE_PREFIX", f"seo-{stage()}")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def bucket_name() -> str:
    return os.environ.get("MEDIA_BUCKET", f"{resource_prefix()}-media")


@lru_cache(maxsize=1)
def signing_secret() -> bytes:
    """Key for access tokens and pagination cursors.

    There is deliberately no default: a hard-coded key in a deployed stack would let
    anyone mint tokens. The local stack and the tests generate one.
    """
    value = os.environ.get("APP_SIGNING_SECRET", "")
    if len(value) < 32:
        raise ConfigError(
            "APP_SIGNING_SECRET is missing or shorter than 32 characters; "
            "set it to a long random string (the local stack generates one)"
        )
    return value.encode()


def access_token_ttl_seconds() -> int:
    return int(os.environ.get("ACCESS_TOKEN_TTL", "900"))


def refresh_token_ttl_seconds() -> int:
    return int(os.environ.get("REFRESH_TOKEN_TTL", str(30 * 24 * 3600)))


def allow_loopback_targets() -> bool:
    """Outbound calls to customer URLs may reach loopback only when this is set (local/test)."""
    return os.environ.get("ALLOW_LOOPBACK_TARGETS", "") == "1"


# --- system configuration and the AI engine ---------------------------------------------

def is_production() -> bool:
    return stage() == "prod"


def secrets_kms_key_id() -> str:
    """KMS key (id, ARN or ``alias/...``) that encrypts provider secrets at rest.

    There is no fallback key anywhere: without this setting no secret can be stored or
    read. The cloud template creates the key; the local stack creates one in its emulator.
    """
    value = os.environ.get("SECRETS_KMS_KEY_ID", "").strip()
    if not value:
        raise ConfigError(
            "SECRETS_KMS_KEY_ID is not set; point it at the KMS key that encrypts provider secrets "
            "(the local stack creates one: infra.seed.ensure_secrets_key())"
        )
    return value


def check_startup() -> None:
    """Refuse to start a deployed production function that could not keep its secrets.

    Only inside Lambda: ``chalice package`` imports the app with the stage's variables too,
    and the key id reaches the function from the template, not from config.json.
    """
    if is_production() and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        secrets_kms_key_id()


def system_cache_seconds() -> float:
    """How long a container may serve providers, models and system settings from memory."""
    return float(os.environ.get("SYSTEM_CONFIG_CACHE_SECONDS", "30"))


def ai_offline_allowed() -> bool:
    """May the offline AI provider stand in when no key is configured? Not in production,
    unless asked: there a missing key is a fault to report, not a reason to write fakes."""
    default = "0" if is_production() else "1"
    return os.environ.get("AI_OFFLINE_ALLOWED", default) == "1"


def ai_timeout_seconds() -> float:
    return float(os.environ.get("AI_TIMEOUT_SECONDS", "90"))


def ai_max_attempts() -> int:
    """Attempts per provider call (the first one included) on 429, 5xx and timeouts."""
    return max(1, int(os.environ.get("AI_MAX_ATTEMPTS", "3")))


def ai_retry_base_delay() -> float:
    return float(os.environ.get("AI_RETRY_BASE_DELAY", "1.0"))


def public_api_url() -> str:
    """Where WordPress's companion plugin sends its webhooks (the API's public base URL)."""
    return os.environ.get("PUBLIC_API_URL", "").rstrip("/")


# --- deletions --------------------------------------------------------------------------------

def deletion_grace_seconds() -> int | None:
    """Seconds between stopping a deleted site or sector and sweeping its records; unset: the
    longest function timeout and a margin (services.deletion.grace_seconds)."""
    value = os.environ.get("DELETION_GRACE_SECONDS", "").strip()
    return int(value) if value else None


# --- billing ------------------------------------------------------------------------------

def billing_return_url() -> str:
    """Where Stripe sends a customer back after Checkout or the billing portal (the web app's
    billing page). Fixed by the deployer, never taken from a request: no open redirect."""
    return os.environ.get("BILLING_RETURN_URL", "http://localhost:3000/billing")


# --- e-mail (services.mail) -----------------------------------------------------------------

def mail_provider() -> str:
    """Who sends the product's e-mail: ``ses`` (Amazon SES, the default) or ``resend`` (its HTTP
    API, with the key and endpoint of the seeded ``resend`` integration provider)."""
    return os.environ.get("MAIL_PROVIDER", "").strip().lower() or "ses"


def mail_from() -> str:
    """The sender of every e-mail: an address (or ``Name <address>``) the provider has verified."""
    return os.environ.get("MAIL_FROM", "").strip() or "Content Engine <no-reply@example.com>"


def mail_outbox_dir() -> str | None:
    """A directory that also keeps a readable copy of each sent e-mail (the local stack sets it to
    ``.local/mail``; tests to a temporary directory); unset, nothing is written."""
    value = os.environ.get("MAIL_OUTBOX_DIR", "").strip()
    return value or None


def web_app_url() -> str:
    """The web app's public base URL: the links e-mails carry (accept an invite, reset a password)."""
    return (os.environ.get("WEB_APP_URL", "").strip() or "http://localhost:3000").rstrip("/")


# --- public deployment safety -------------------------------------------------------------------

def rate_limits() -> str:
    """Per-account limits of the expensive routes, e.g. ``jobs=120/60,keyword_imports=60/60``
    (requests per seconds); ``off`` turns them off. Unset buckets keep their defaults
    (services.rate_limits.DEFAULT_LIMITS)."""
    return os.environ.get("RATE_LIMITS", "").strip()


# --- the audit log ----------------------------------------------------------------------------

def audit_retention_days() -> int:
    """Days an audit entry is kept before DynamoDB's TTL removes it (default 400: a year and a
    month, so a yearly review still sees the whole previous year)."""
    return max(1, int(os.environ.get("AUDIT_RETENTION_DAYS", "400")))


# --- API keys ---------------------------------------------------------------------------------

def api_key_rate_limit_per_minute() -> int:
    """Requests a minute an API key may make unless it was created with its own limit."""
    return max(1, int(os.environ.get("API_KEY_RATE_LIMIT_PER_MINUTE", "600")))
