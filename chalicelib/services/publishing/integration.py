"""A site's WordPress connection: tested, its structure synced, its password stored encrypted.

The companion plugin, when WordPress has it and the product has a public URL, is set up to
send signed webhooks (``publishing.webhooks``); the route that maps a site id to its secret
is written here and removed with the connection.
"""

from __future__ import annotations

import re
import secrets as pysecrets
from typing import Any

from chalicelib import config
from chalicelib.errors import ApiError, NotFound, UnprocessableEntity
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.publisher import SiteIntegration, WebhookRoute
from chalicelib.observability import logger
from chalicelib.services import audit, secrets
from chalicelib.services.sites import get_site
from chalicelib.timeutil import utcnow

WP_ERROR_CODES = {
    "WPBlockedURL": ("wordpress_url_not_allowed", "This address is not allowed (private or local network)."),
    "WPNotFound": ("wordpress_not_found", "No WordPress site answers at this URL; check the address."),
    "WPNotWordPress": ("wordpress_not_detected", "The site at this URL does not look like WordPress."),
    "WPRestDisabled": ("wordpress_rest_disabled", "The WordPress REST API is disabled on this site."),
    "WPAuthHeaderStripped": ("wordpress_auth_header_stripped",
                             "The web server strips the Authorization header before WordPress sees it."),
    "WPForbidden": ("wordpress_forbidden", "This WordPress user may not do this."),
    "WPAuthError": ("wordpress_auth_failed", "WordPress refused the username or application password."),
    "WPUnavailable": ("wordpress_unavailable", "The WordPress site did not answer in time; try again."),
}


def wp_api_error(exc: Exception) -> ApiError:
    for cls in type(exc).__mro__:
        if cls.__name__ in WP_ERROR_CODES:
            code, headline = WP_ERROR_CODES[cls.__name__]
            return UnprocessableEntity(f"{headline} ({exc})", code=code)
    return UnprocessableEntity(f"WordPress answered with an error: {exc}", code="wordpress_error")


def secret_context(account_id: str, site_id: str) -> dict[str, str]:
    """The encryption context of a site's WordPress secrets."""
    return {"account_id": account_id, "site_id": site_id, "purpose": "wordpress"}


def connect_wordpress(account_id: str, site_id: str, *, url: str, username: str, app_password: str,
                      name: str = "", actor: audit.Actor = audit.SYSTEM) -> SiteIntegration:
    """Test the connection, sync the structure, set up the companion plugin's webhooks, store it."""
    from chalicelib.integrations.wordpress.client import WordPressClient
    from chalicelib.integrations.wordpress.errors import WPError

    get_site(account_id, site_id)
    url = url.strip()
    if not re.match(r"^https?://[^\s/?#]+(/\S*)?$", url, re.IGNORECASE):
        raise UnprocessableEntity("Give the site's address starting with https:// (or http://).",
                                  code="wordpress_url_invalid", details=[{"field": "url", "message": "not a URL"}])
    webhook_secret = pysecrets.token_urlsafe(32)
    webhooks = False
    try:
        with WordPressClient(url, username, app_password) as wp:
            info = wp.check_connection()
            if not info.can_publish:
                raise UnprocessableEntity("This WordPress user cannot publish posts; use an Editor or Administrator.",
                                          code="wordpress_forbidden")
            structure = wp.sync_structure()
            companion = info.companion
            if companion is not None and config.public_api_url():
                try:
                    wp.configure_companion(product_url=config.public_api_url(), site_id=site_id,
                                           secret=webhook_secret)
                    webhooks = True
                except WPError as exc:  # the connection still works; webhooks will not
                    logger.warning("companion plugin not configured", extra={"error": str(exc)[:300]})
    except WPError as exc:
        raise wp_api_error(exc) from None
    except ValueError as exc:  # the client refuses an empty or malformed URL
        raise UnprocessableEntity(str(exc), code="wordpress_url_invalid") from None
    context = secret_context(account_id, site_id)
    now = utcnow()
    integration = SiteIntegration(
        site_key(account_id, site_id), "wordpress", account_id=account_id, site_id=site_id,
        name=name or info.name or url, external_site_url=url.strip().rstrip("/"), username=username,
        app_password_enc=secrets.encrypt(app_password, context), app_password_hint=secrets.hint(app_password),
        webhook_secret_enc=secrets.encrypt(webhook_secret, context) if webhooks else None,
        connection_status="connected", sync_status="completed", last_sync_at=now, structure_updated_at=now,
        plugin_active=companion is not None, seo_fields=list(companion.seo_meta) if companion else [],
        config_json={"site_name": info.name, "home": info.home, "timezone": info.timezone_string,
                     "gmt_offset": info.gmt_offset, "wordpress_user": info.user.slug,
                     "can_upload": info.can_upload, "can_manage_terms": info.can_manage_terms,
                     "companion_version": companion.version if companion else None,
                     "seo_plugins": list(companion.seo_plugins) if companion else [], "webhooks": webhooks},
        **_structure_fields(structure))
    integration.save()
    if webhooks:
        WebhookRoute(site_id, account_id=account_id, secret_enc=integration.webhook_secret_enc).save()
    else:
        _delete_webhook_route(account_id, site_id)
    audit.record(account_id, audit.INTEGRATION_CONNECTED, actor, target=f"site:{site_id}",
                 details={"provider": "wordpress", "url": integration.external_site_url, "username": username,
                          "webhooks": webhooks})
    return integration


def _structure_fields(structure: Any) -> dict[str, Any]:
    def plain(items: Any) -> list[dict[str, Any]]:
        out = []
        for item in items or []:
            data = item.__dict__ if hasattr(item, "__dict__") else dict(item)
            out.append({k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None})
        return out

    return {"categories": plain(structure.categories)[:500], "tags": plain(structure.tags)[:500],
            "authors": plain(structure.authors)[:200], "post_types": plain(structure.post_types)[:50]}


def sync_integration(account_id: str, site_id: str) -> SiteIntegration:
    from chalicelib.integrations.wordpress.errors import WPError

    integration = get_integration(account_id, site_id)
    try:
        with wordpress_client(integration) as wp:
            structure = wp.sync_structure()
    except WPError as exc:
        integration.update(actions=[SiteIntegration.sync_status.set("error"),
                                    SiteIntegration.sync_error.set(str(exc)[:1000]),
                                    SiteIntegration.connection_status.set("error")])
        raise wp_api_error(exc) from None
    fields = _structure_fields(structure)
    now = utcnow()
    integration.update(actions=[getattr(SiteIntegration, k).set(v) for k, v in fields.items()] + [
        SiteIntegration.sync_status.set("completed"), SiteIntegration.sync_error.remove(),
        SiteIntegration.connection_status.set("connected"), SiteIntegration.last_sync_at.set(now),
        SiteIntegration.structure_updated_at.set(now)])
    return integration


def find_integration(account_id: str, site_id: str) -> SiteIntegration:
    """The site's WordPress connection (the site is not checked: workers and ticks)."""
    try:
        return SiteIntegration.get(site_key(account_id, site_id), "wordpress")
    except SiteIntegration.DoesNotExist:
        raise NotFound("WordPress connection") from None


def get_integration(account_id: str, site_id: str) -> SiteIntegration:
    get_site(account_id, site_id)
    return find_integration(account_id, site_id)


def delete_integration(account_id: str, site_id: str, *, actor: audit.Actor = audit.SYSTEM) -> None:
    integration = get_integration(account_id, site_id)
    integration.delete()
    _delete_webhook_route(account_id, site_id)
    audit.record(account_id, audit.INTEGRATION_DISCONNECTED, actor, target=f"site:{site_id}",
                 details={"provider": "wordpress", "url": integration.external_site_url})


def _delete_webhook_route(account_id: str, site_id: str) -> None:
    with conditional():  # none, or another account's: nothing of ours to delete
        WebhookRoute(site_id).delete(condition=WebhookRoute.account_id == account_id)


def wordpress_client(integration: SiteIntegration) -> Any:
    from chalicelib.integrations.wordpress.client import WordPressClient

    password = secrets.decrypt(integration.app_password_enc, secret_context(integration.account_id,
                                                                            integration.site_id))
    return WordPressClient(integration.external_site_url, integration.username, password)
