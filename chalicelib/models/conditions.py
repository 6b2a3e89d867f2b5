"""Conditional writes: one way to say "write this only if ..., else ...".

Every status move, counter and claim in the product is a write conditional on the state
it expects (DESIGN.md rules 5 and 6). When the condition does not hold, the caller either
turns that into a domain error (404, 409) or takes it as "someone else did it already".
``conditional`` says either in one line instead of a try/except around each write::

    with conditional(otherwise=NotFound("Site")):
        site.update(actions=[...], condition=Site.site_id.exists())

    with conditional() as write:
        item.update(actions=[...], condition=Item.status == "running")
    if not write.held:
        return False  # another delivery finished it first

Any other error (throttling, a lost connection) passes through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType


def is_condition_failure(exc: BaseException) -> bool:
    """True when a write failed only because a condition of it did not hold."""
    if getattr(exc, "labels", None) is not None and getattr(exc, "is_condition_failure", False):
        return True  # transactions.ConditionsFailed
    if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


Otherwise = BaseException | Callable[[], BaseException] | None


class conditional:  # noqa: N801 - used as a statement: `with conditional(...)`
    """Run a conditional write; a failed condition raises ``otherwise`` or is recorded in ``held``."""

    def __init__(self, otherwise: Otherwise = None) -> None:
        self.otherwise = otherwise
        self.held = True

    def __enter__(self) -> conditional:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None or not is_condition_failure(exc):
            return False
        self.held = False
        if self.otherwise is None:
            return True
        error = self.otherwise() if callable(self.otherwise) and not isinstance(self.otherwise, BaseException) \
            else self.otherwise
        raise error from None
