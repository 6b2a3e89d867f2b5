"""The Lambda handler of the plan-renewal schedule (services.plan_renewals)."""

from __future__ import annotations

from typing import Any

from chalicelib.observability import logger


def tick(event: Any = None) -> dict[str, Any]:
    """EventBridge: open the next period of every plan without an invoice whose period ended (no Scan)."""
    from chalicelib.services import plan_renewals

    result = plan_renewals.tick()
    logger.info("plan renewal tick", extra={"result": result})
    return result
