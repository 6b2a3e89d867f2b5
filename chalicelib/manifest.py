"""Register the app's routes, queue workers and schedules from ``chalicelib/manifest.json``;
import the code behind each on first use.

A cold start used to import every API module (their pydantic and PynamoDB models, JWT,
Powertools...) before it could answer anything: ``import app`` took ~3.5x a bare Chalice
app, and every SQS worker imported the whole API it never serves. Now ``app.py`` registers a
light proxy per route and per handler, described by the manifest:

- a route's proxy has the real view's path, method, content types, name and docstring (so
  routing, 405/415 answers and the API Gateway swagger are what an eager registration
  gives). Its first call imports the route's blueprint module and registers the blueprint
  on a private Chalice app (``_Mirror``) whose ``current_request`` is the served app's; the
  proxy then calls the very view Chalice would have called. Middleware stays on the served app.
- a worker's proxy (``worker_<queue>``) imports its module on the first batch and builds
  the handler with ``factory(QueueDef)``; a tick's proxy imports ``function(event)``.

The manifest is generated from ``API_MODULES``, ``QUEUE_HANDLERS`` and ``SCHEDULE_HANDLERS``
in ``chalicelib/registry.py`` by ``make manifest`` (``python -m infra.cloud.manifest``);
tests/infra/test_manifest.py fails while it is stale. Only light modules are imported here:
this runs in every cold start.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, MutableMapping
from importlib import import_module
from pathlib import Path
from typing import Any

from chalice import Chalice, Rate

MANIFEST_PATH = Path(__file__).with_name("manifest.json")


def load(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def target(reference: str) -> Any:
    """``"package.module:name"`` -> the object (imports the module)."""
    module_name, _, attribute = reference.partition(":")
    return getattr(import_module(module_name), attribute)


class _Mirror(Chalice):
    """The private app the real blueprints are registered on. Their views read
    ``bp.current_request`` and ``bp.lambda_context``: this answers with the served app's."""

    def __init__(self, served: Chalice) -> None:
        # env={}: Chalice would otherwise append its version to AWS_EXECUTION_ENV once more.
        super().__init__(app_name=served.app_name, configure_logs=False, env={})
        self._served = served

    @property  # type: ignore[override]
    def current_request(self) -> Any:
        return self._served.current_request

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return self._served.lambda_context


class LazyBlueprints:
    """The real views, their blueprint module imported on the first request to one of them."""

    def __init__(self, served: Chalice) -> None:
        self._served = served
        self._mirror: _Mirror | None = None
        self._loaded: set[str] = set()
        self._lock = threading.RLock()

    @property
    def loaded(self) -> frozenset[str]:
        return frozenset(self._loaded)

    def load(self, module_name: str) -> _Mirror:
        if module_name not in self._loaded:
            with self._lock:
                if module_name not in self._loaded:
                    if self._mirror is None:
                        self._mirror = _Mirror(self._served)
                    self._mirror.register_blueprint(import_module(module_name).bp)
                    self._loaded.add(module_name)
        assert self._mirror is not None
        return self._mirror

    def view(self, module_name: str, path: str, method: str) -> Callable[..., Any]:
        mirror = self.load(module_name)
        entry = mirror.routes.get(path, {}).get(method)
        if entry is None:
            raise LookupError(f"{module_name} declares no {method} {path}: chalicelib/manifest.json is stale "
                              "(run `make manifest`)")
        return entry.view_function


def _route_proxy(blueprints: LazyBlueprints, route: dict[str, Any]) -> Callable[..., Any]:
    module_name, path, method = route["module"], route["path"], route["method"]

    def view(**path_params: str) -> Any:
        return blueprints.view(module_name, path, method)(**path_params)

    view.__name__ = view.__qualname__ = route["view"]
    view.__doc__ = route.get("doc")
    return view


def _once(build: Callable[[], Callable[[Any], Any]], name: str) -> Callable[[Any], Any]:
    """A handler that builds the real one on its first event (threads: the local stack)."""
    built: list[Callable[[Any], Any]] = []
    lock = threading.Lock()

    def handler(event: Any) -> Any:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0](event)

    # Chalice names the Lambda handler "app.<__name__>": it must be the module-level name in app.py.
    handler.__name__ = handler.__qualname__ = name
    return handler


def _queue_proxy(queue: dict[str, Any]) -> Callable[[Any], Any]:
    def build() -> Callable[[Any], Any]:
        from chalicelib.registry import queue as queue_def

        return target(queue["target"])(queue_def(queue["queue_key"]))

    return _once(build, queue["name"])


def _schedule_proxy(schedule: dict[str, Any]) -> Callable[[Any], Any]:
    return _once(lambda: target(schedule["target"]), schedule["name"])


def register(app: Chalice, namespace: MutableMapping[str, Any],
             manifest: dict[str, Any] | None = None) -> LazyBlueprints:
    """Register every route, queue worker and schedule of the manifest on ``app``; put each
    worker and tick in ``namespace`` (app.py's globals: Lambda's handler is ``app.<name>``).
    Returns the routes' blueprints (which modules a process has loaded so far)."""
    from chalicelib import config
    from chalicelib.api import cors

    data = manifest if manifest is not None else load()
    blueprints = LazyBlueprints(app)
    for route in data["routes"]:
        app.route(route["path"], methods=[route["method"]], name=route["view"],
                  content_types=route["content_types"], cors=route["cors"],
                  api_key_required=route["api_key_required"])(_route_proxy(blueprints, route))
    cors.register_preflights(app, data["routes"])
    prefix = config.resource_prefix()
    for queue in data["queues"]:
        namespace[queue["name"]] = app.on_sqs_message(
            queue=f"{prefix}-{queue['queue_suffix']}", batch_size=queue["batch_size"], name=queue["name"],
            maximum_concurrency=queue["maximum_concurrency"],
        )(_queue_proxy(queue))
    for schedule in data["schedules"]:
        namespace[schedule["name"]] = app.schedule(
            Rate(schedule["rate_minutes"], unit=Rate.MINUTES), name=schedule["name"],
        )(_schedule_proxy(schedule))
    return blueprints


def modules(manifest: dict[str, Any] | None = None) -> list[str]:
    """Every module the manifest's routes and handlers import on first use."""
    data = manifest if manifest is not None else load()
    names = [route["module"] for route in data["routes"]]
    names += [entry["target"].partition(":")[0] for entry in (*data["queues"], *data["schedules"])]
    return list(dict.fromkeys(names))


def import_all(manifest: dict[str, Any] | None = None) -> None:
    """Import what any first request or event would (the package's bytecode probe uses it)."""
    for name in modules(manifest):
        import_module(name)
