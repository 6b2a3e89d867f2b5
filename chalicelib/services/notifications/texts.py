"""What a notification says: its title and one line, from the event and its data (or a group's count)."""

from __future__ import annotations

from typing import Any

from chalicelib.services import event_names as ev


def line(event: str, data: dict[str, Any]) -> str:
    title = data.get("title") or data.get("content_id") or ""
    reason = data.get("reason") or data.get("error") or ""
    if event == ev.RUN_COMPLETED:
        return f"The automation run of {data.get('site_name') or 'a site'} completed."
    if event == ev.RUN_FAILED:
        return f"The automation run failed: {reason}"
    if event == ev.CONTENT_REVIEW:
        return f"'{title}' is ready for review."
    if event == ev.CONTENT_PUBLISHED:
        return f"'{title}' was published: {data.get('url') or ''}".rstrip(": ")
    if event in (ev.CONTENT_FAILED, ev.PUBLISH_FAILED):
        return f"'{title}' failed: {reason}"
    if event == ev.INTEGRATION_BROKEN:
        return f"WordPress refused us: {reason}"
    if event == ev.CREDITS_LOW:
        return (f"{data.get('available')} {data.get('credit_type')} credits left "
                f"(below your threshold of {data.get('threshold')}).")
    if event == ev.PAYMENT_FAILED:
        return f"The payment of invoice {data.get('invoice_id')} failed; update the card to keep the plan."
    if event == ev.PLAN_RENEWED:
        return f"Your plan {data.get('plan_id') or ''} renewed; the new period's credits are in.".replace("  ", " ")
    if event == ev.WEBHOOK_DISABLED:
        return f"The webhook endpoint {data.get('url')} was disabled after {data.get('failures')} failed deliveries."
    return ev.EVENTS[event].title


def group_line(event: str, count: int, data: dict[str, Any]) -> str:
    if count <= 1:
        return line(event, data)
    return f"{count} times: {ev.EVENTS[event].title.lower()}. The latest: {line(event, data)}"
