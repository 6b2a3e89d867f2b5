"""The web console's response headers, said once: the local console server sends them
(``infra.local.console``) and the cloud's CloudFront response headers policy carries them
(``infra.cloud.console_site``)."""

from __future__ import annotations

# Besides the Content-Security-Policy (below) on every file of the console.
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Hashed asset names change with their content: cached for a year. index.html names the current
# assets, so it is revalidated on every load.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATE_CACHE = "no-cache"


def content_security_policy(*media_origins: str) -> str:
    """The console's policy: its own scripts and styles only, API calls to its own origin (plus the
    media bucket, where an image file's link redirects), images from anywhere, no framing."""
    media = "".join(f" {origin}" for origin in media_origins if origin)
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; "
            f"connect-src 'self'{media}; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
