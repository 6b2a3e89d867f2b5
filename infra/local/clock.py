"""The local stand-in for EventBridge: fires the registered schedule handlers at their rates.

moto stores schedules but never fires them, so the stack does it here: for each registry
schedule whose handler (``ScheduleDef.handler_name``, registered with ``@app.schedule``) is on
the Chalice app, a thread calls the handler with the event EventBridge sends, every
``rate_minutes`` divided by ``speed``. Like EventBridge, the first call comes one interval
after start. Tests and the demo call ``fire(key)`` / ``fire_all()`` instead of waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chalice import Chalice

from chalicelib import config, timeutil
from chalicelib.registry import SCHEDULES, ScheduleDef
from infra.local.lambda_shim import AppHandlers, Handler, LambdaContext, scheduled_event

log = logging.getLogger("infra.clock")


@dataclass
class ScheduleBinding:
    schedule: ScheduleDef
    handler: Handler
    function_name: str
    interval_seconds: float
    fired: int = 0
    failed: int = 0


class Clock:
    """Fires schedule handlers on a timer (``start``/``stop``) or on demand (``fire``)."""

    def __init__(self, app: ModuleType | Chalice, *, schedules: Iterable[ScheduleDef] = SCHEDULES,
                 speed: float = 1.0, region: str | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.handlers = AppHandlers(app)
        self.region = region or config.region()
        self.speed = speed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.bindings: dict[str, ScheduleBinding] = {}
        self.unhandled: list[ScheduleDef] = []
        for s in schedules:
            found = self.handlers.schedule_handler(s.handler_name)
            if found is None:
                self.unhandled.append(s)
                continue
            handler, _source = found
            self.bindings[s.key] = ScheduleBinding(s, handler, self.handlers.function_name(s.handler_name),
                                                   s.rate_minutes * 60 / speed)

    def event(self, key: str) -> dict[str, Any]:
        binding = self.bindings[key]
        when = timeutil.utcnow().replace(microsecond=0)
        return scheduled_event(rule_name=binding.function_name, region=self.region, when=timeutil.iso(when) or "")

    def fire(self, key: str) -> Any:
        """Call one schedule's handler now, as EventBridge would; its exception propagates."""
        if key not in self.bindings:
            raise KeyError(f"no handler registered for schedule {key!r}")
        binding = self.bindings[key]
        context = LambdaContext(binding.function_name, timeout_seconds=binding.schedule.function_timeout,
                                region=self.region)
        started = time.perf_counter()
        try:
            result = binding.handler(self.event(key), context)
        except Exception:
            with self._lock:
                binding.failed += 1
            log.info("tick schedule=%s failed ms=%.0f", key, (time.perf_counter() - started) * 1000)
            raise
        with self._lock:
            binding.fired += 1
        log.info("tick schedule=%s ok ms=%.0f", key, (time.perf_counter() - started) * 1000)
        return result

    def fire_all(self) -> dict[str, Any]:
        """Fire every registered schedule once, in registry order; returns key -> result."""
        return {key: self.fire(key) for key in self.bindings}

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the clock is already running")
        self._stop.clear()
        for key in self.bindings:
            thread = threading.Thread(target=self._run, args=(key,), daemon=True, name=f"clock-{key}")
            thread.start()
            self._threads.append(thread)

    def _run(self, key: str) -> None:
        interval = self.bindings[key].interval_seconds
        next_due = time.monotonic() + interval
        while not self._stop.wait(max(0.0, next_due - time.monotonic())):
            # Fixed-rate like EventBridge: a slow handler does not push later ticks back.
            next_due += interval
            try:
                self.fire(key)
            except Exception:
                log.exception("schedule %s: handler raised", key)
            if next_due < time.monotonic():
                next_due = time.monotonic() + interval

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
