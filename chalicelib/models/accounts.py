"""Accounts module: Account, User, login lookup, sessions, invites, one-time tokens, Site, Sector, Industry, Plan.

Tenant tables are partitioned by the account id (rule 1 of DESIGN.md). Global records
(plans, industries) live in one fixed partition each, so listing them is a Query.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.connection import SharedClientModel
from chalicelib.models.site_scope import ACCOUNT, PLATFORM, Itself, Partition

GLOBAL_SCOPE = "global"


class Plan(TimestampedModel):
    """A subscription plan (staff-managed). ``plan_id`` is its slug."""

    Meta = table_meta("plans")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    plan_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    idea_credits = NumberAttribute(default=0)
    content_credits = NumberAttribute(default=0)
    image_credits = NumberAttribute(default=0)
    optimization_credits = NumberAttribute(default=0)
    max_sites = NumberAttribute(default=1)
    max_users = NumberAttribute(default=1)
    # Money as integer cents: no float rounding anywhere near a price.
    price_monthly_cents = NumberAttribute(default=0)
    price_yearly_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="usd")
    is_active = BooleanAttribute(default=True)
    is_internal = BooleanAttribute(default=False)
    description = UnicodeAttribute(default="")
    # At a new period, unused plan credits roll over (True) or expire (False); packs never expire.
    rollover = BooleanAttribute(default=False)
    # Stripe Price ids (price_...) a subscription to this plan is billed with; unset = not for sale.
    stripe_price_monthly = UnicodeAttribute(null=True)
    stripe_price_yearly = UnicodeAttribute(null=True)
    sort_order = NumberAttribute(default=0)
    updated_by = UnicodeAttribute(null=True)
    # What a call on an account's own AI key costs, in percent of the platform's price (services.own_keys).
    own_key_price_percent = NumberAttribute(default=0)


class Account(TimestampedModel):
    Meta = table_meta("accounts")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    plan_id = UnicodeAttribute()
    owner_user_id = UnicodeAttribute()
    # False: nobody of the account signs in or calls the API, and no work of its sites runs
    # (services.identity.set_account_active; each user carries a copy, read by every request).
    is_active = BooleanAttribute(default=True)
    # Counters guarded by conditional updates so plan limits hold under races.
    site_count = NumberAttribute(default=0)
    user_count = NumberAttribute(default=0)
    # Invites sent and not yet accepted, revoked or expired: each holds a seat of the plan's
    # max_users (services.seats), so inviting cannot go past the plan.
    pending_invites = NumberAttribute(default=0)
    # Billing (services/billing.py): the Stripe customer (also in StripeCustomer, for the reverse
    # lookup) and the subscription that sets plan_id, with its creation time, so an event of an
    # older subscription arriving late cannot take the account back from a newer one.
    stripe_customer_id = UnicodeAttribute(null=True)
    subscription_id = UnicodeAttribute(null=True)
    subscription_created = NumberAttribute(null=True)


class User(TimestampedModel):
    Meta = table_meta("users")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    first_name = UnicodeAttribute(default="")
    last_name = UnicodeAttribute(default="")
    role = UnicodeAttribute()
    is_active = BooleanAttribute(default=True)
    is_staff = BooleanAttribute(default=False)
    password_hash = UnicodeAttribute()
    # session id -> expiry (epoch seconds) of sessions ended by logout or deactivation;
    # the access-token check reads this on the same GetItem as the user.
    revoked_sessions = MapAttribute(default=dict)
    # A copy of "the account is deactivated", so the one GetItem of the user per request sees it.
    account_inactive = BooleanAttribute(null=True)
    # Moved on by a password reset or change: every session (access and refresh tokens) started
    # under an older generation has ended, and so has every reset link issued before.
    session_generation = NumberAttribute(default=0)
    # Set when the user proved the address (the verification link, or accepting an invite to it).
    email_verified_at = UTCDateTimeAttribute(null=True)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class EmailLogin(SharedClientModel):
    """Global lookup: normalised e-mail -> (account, user). Also makes e-mails unique.

    This is the one pre-authentication record: it is read before any tenant is known,
    so its key is the e-mail, and it holds nothing but the pointer and throttling state.
    """

    Meta = table_meta("logins")
    site_scope = ACCOUNT
    email = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    failed_attempts = NumberAttribute(default=0)
    locked_until = UTCDateTimeAttribute(null=True)
    reset_mail_after = NumberAttribute(null=True)  # epoch seconds: no reset e-mail to it before


class Session(TimestampedModel):
    """A refresh-token family. The token's secret is stored only as a hash, and rotates."""

    Meta = table_meta("sessions", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # active, revoked
    expires_epoch = NumberAttribute()
    generation = NumberAttribute(default=0)  # the user's session_generation when it started


class Invite(TimestampedModel):
    """An invitation to join an account by e-mail (services.invites). The link's secret is kept
    only as a hash; ``sends`` numbers the e-mails (each resend is a new mail event)."""

    Meta = table_meta("invites", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    invite_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    first_name = UnicodeAttribute(default="")
    last_name = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="pending")  # pending, accepted, revoked, expired
    token_hash = UnicodeAttribute()
    valid_until = NumberAttribute()  # epoch seconds
    invited_by = UnicodeAttribute()
    sends = NumberAttribute(default=1)
    accepted_user_id = UnicodeAttribute(null=True)
    expires_epoch = NumberAttribute()  # kept a while after its end, then DynamoDB's TTL removes it


class UserToken(TimestampedModel):
    """A single-use link for one user: confirm the e-mail address or reset the password
    (services.credentials). Stored as a hash; spent by a conditional write, once."""

    Meta = table_meta("user_tokens", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    token_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    purpose = UnicodeAttribute()  # verify_email, password_reset
    token_hash = UnicodeAttribute()
    valid_until = NumberAttribute()  # epoch seconds
    generation = NumberAttribute(default=0)  # the user's session_generation when issued
    email = UnicodeAttribute()  # the address the link was sent to
    used_at = UTCDateTimeAttribute(null=True)
    expires_epoch = NumberAttribute()


class Site(TimestampedModel):
    Meta = table_meta("sites")
    site_scope = Itself()
    account_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    domain = UnicodeAttribute(default="")
    industry_id = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(default="UTC")
    is_active = BooleanAttribute(default=True)
    # What its generation follows (services.generation): the author profile (account or global id),
    # the global strategy, and content type -> WordPress post type where it differs from the type's own.
    author_profile_id = UnicodeAttribute(null=True)
    strategy_id = UnicodeAttribute(null=True)
    post_types = JSONAttribute(default=dict)
    # Set when a deletion is accepted: from then on nothing new starts (services.deletion).
    deleting_since = UTCDateTimeAttribute(null=True)

    @property
    def status(self) -> str:
        return lifecycle_status(self.is_active, self.deleting_since)


def site_key(account_id: str, site_id: str) -> str:
    return f"{account_id}#{site_id}"


def lifecycle_status(is_active: bool | None, deleting_since: object) -> str:
    """active, inactive (reads only; its work waits) or deleting (going; nothing new starts)."""
    if deleting_since is not None:
        return "deleting"
    return "active" if is_active else "inactive"


class Sector(TimestampedModel):
    Meta = table_meta("sectors")
    site_scope = Partition(site_key)
    sector_scope = Itself()
    site_key = UnicodeAttribute(hash_key=True)  # account_id#site_id
    sector_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    is_active = BooleanAttribute(default=True)
    deleting_since = UTCDateTimeAttribute(null=True)
    author_profile_id = UnicodeAttribute(null=True)  # beats the site's (services.generation)

    @property
    def status(self) -> str:
        return lifecycle_status(self.is_active, self.deleting_since)


class Industry(TimestampedModel):
    Meta = table_meta("industries")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    industry_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
