"""Accounts module: Account, User, login lookup, sessions, Site, Sector, Industry, Plan.

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
