"""What a publish sends to WordPress: the images (each uploaded once), the terms, then the post.

The WordPress post id is stored as soon as WordPress returns it. A retry -- after any
failure, including a crash between WordPress's answer and our write -- first looks for the
post it may have made (the companion plugin's content-id meta, or the hidden marker in the
post body) and updates it instead of creating another; likewise each image it may have
uploaded (by the key each upload carries).
"""

from __future__ import annotations

import json
from datetime import timedelta
from html import escape
from typing import Any

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content, ContentImage
from chalicelib.observability import logger
from chalicelib.services import generation, media
from chalicelib.services.activity import Gates
from chalicelib.services.publishing.integration import find_integration, wordpress_client
from chalicelib.services.sites import get_sector, get_site
from chalicelib.timeutil import utcnow

LATE_TOLERANCE = timedelta(hours=1)  # published later than this after its slot: dated when it really went out


class PublishHeld(Exception):
    """The site (or its sector, or account) stopped while this publish was being prepared."""


def publish_to_wordpress(content: Content) -> tuple[Any, str]:
    """Create or update the content's post; returns (the post, created / updated / recovered)."""
    from chalicelib.integrations.wordpress.errors import WPObjectNotFound

    integration = find_integration(content.account_id, content.site_id)
    if not integration.is_active:
        raise UnprocessableEntity("The site's WordPress connection is switched off.", code="integration_inactive")
    with wordpress_client(integration) as wp:
        images = list(ContentImage.by_content.query(join_key(content.site_key, content.content_id)))
        featured_id, inline = _upload_images(wp, content, images)
        body = _body_with_images(content.body_html, inline)
        terms = _terms(wp, content)
        gate = Gates().sector(content.account_id, content.site_id, content.sector_id)
        if not gate.open:  # stopped while the images went up: no post now
            raise PublishHeld(gate.message)
        now = utcnow()
        when = content.scheduled_publish_at
        if when is None or when > now or now - when > LATE_TOLERANCE:
            when = now  # never "future" (it is due); long overdue (the site was down): the real time
        post_type = generation.post_type_for(get_site(content.account_id, content.site_id), content.content_type)
        fields: dict[str, Any] = dict(
            title=content.title, content=body, excerpt=content.excerpt or None, status="publish", date_gmt=when,
            featured_media=featured_id, slug=content.slug or None, post_type=post_type,
            seo_title=content.meta_title or None, seo_description=content.meta_description or None,
            meta=_seo_meta(content))
        if post_type == "post":  # pages and most custom types take no categories or tags
            fields.update(categories=terms.categories, tags=terms.tags)
        stored = content.external_id
        if stored:
            try:
                return wp.update_post(int(stored), content_id=content.content_id, **fields), "updated"
            except WPObjectNotFound:
                logger.info("stored post is gone; looking for another", extra={"post_id": stored})
        found = wp.find_post_by_content_id(content.content_id, post_type=post_type, include_trash=True)
        if found is not None:
            _remember_post(content, str(found.id), replacing=stored)
            return wp.update_post(found.id, content_id=content.content_id, **fields), "recovered"
        post = wp.create_post(content_id=content.content_id, **fields)
        _remember_post(content, str(post.id), replacing=stored)
        return post, "created"


def _seo_meta(content: Content) -> dict[str, Any]:
    """What the site's SEO plugin and the companion read besides title and description (sent where exposed)."""
    from chalicelib.integrations.wordpress.fields import JSON_LD_META, SEO_KEYWORD_KEYS

    meta: dict[str, Any] = {}
    if content.keywords:
        meta.update({key: content.keywords[0] for key in SEO_KEYWORD_KEYS})
    if content.json_ld:
        meta[JSON_LD_META] = json.dumps(content.json_ld, ensure_ascii=False, separators=(",", ":"))
    return meta


def _remember_post(content: Content, post_id: str, *, replacing: str | None = None) -> None:
    """Store the post id the moment it exists, so no retry can create a second post."""
    condition = Content.external_id.does_not_exist() | (Content.external_id == post_id)
    if replacing:
        condition = condition | (Content.external_id == replacing)
    content.update(actions=[Content.external_id.set(post_id)], condition=condition)


def _upload_images(wp: Any, content: Content,
                   images: list[ContentImage]) -> tuple[int | None, list[tuple[int, str, str]]]:
    featured: int | None = None
    inline: list[tuple[int, str, str]] = []
    for image in images:
        if image.status != "generated" or not (image.storage_key or image.external_media_id):
            continue
        if not image.external_media_id:
            _upload_image(wp, content, image)
        if image.is_featured and featured is None:
            featured = int(image.external_media_id)
        else:
            inline.append((int(image.position), image.external_media_url or "", image.alt_text or ""))
    return featured, sorted(inline)


def _upload_image(wp: Any, content: Content, image: ContentImage) -> None:
    """Put the image in the media library once, whatever failed on the way.

    The upload carries a key (the image id and a digest of its bytes) that WordPress stores
    with the attachment; the key is written here before the upload is sent. A later attempt
    that finds its key already written may have uploaded the file already (the answer was lost,
    or the worker died before storing the id): it looks the attachment up by that key and
    uploads only if there is none. The media id is stored right after either.
    """
    from chalicelib.integrations.wordpress.fields import media_key

    data, mime = media.read(image.storage_key)
    key = media_key(image.image_id, data)
    found = wp.find_media_by_key(key) if image.external_media_key == key else None
    if found is not None:
        if image.alt_text and found.alt_text != image.alt_text:  # the attempt died before WordPress set it
            found = wp.update_media(found.id, alt_text=image.alt_text)
        uploaded = found
    else:
        if image.external_media_key != key:
            image.update(actions=[ContentImage.external_media_key.set(key)])
        extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime, "png")
        uploaded = wp.upload_media(data, f"{content.content_id}-{int(image.position)}.{extension}", mime,
                                   alt_text=image.alt_text or None, caption=image.caption or None, media_key=key)
    image.update(actions=[ContentImage.external_media_id.set(str(uploaded.id)),
                          ContentImage.external_media_url.set(uploaded.url),
                          ContentImage.thumbnail_url.set(uploaded.thumbnail_url or uploaded.url)])


def _body_with_images(body: str, inline: list[tuple[int, str, str]]) -> str:
    """Put in-article image n right after the n-th section heading (<h2>), or at the end."""
    if not inline:
        return body
    parts = body.split("<h2")  # parts[n] (n >= 1) starts inside the n-th heading
    tail = ""
    for position, url, alt in inline:
        if not url:
            continue
        figure = f'<figure class="wp-block-image"><img src="{escape(url)}" alt="{escape(alt)}"/></figure>'
        index = max(position, 1)
        if index < len(parts) and "</h2>" in parts[index]:
            head, sep, rest = parts[index].partition("</h2>")
            parts[index] = head + sep + figure + rest
        else:
            tail += figure
    return "<h2".join(parts) + tail


def _terms(wp: Any, content: Content) -> Any:
    categories: list[str] = []
    try:
        categories.append(get_sector(content.account_id, content.site_id, content.sector_id).name)
    except NotFound:
        pass
    tags = [k for k in (content.keywords or []) if k.strip()][:8]
    return wp.ensure_terms(categories=categories, tags=tags)
