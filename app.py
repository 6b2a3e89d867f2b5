"""The Chalice app: registration only. The domain lives in chalicelib/services.

Routes, queue workers and schedules are registered from chalicelib/manifest.json, generated
from API_MODULES, QUEUE_HANDLERS and SCHEDULE_HANDLERS in chalicelib/registry.py by
`make manifest`; each module is imported on the first request or event that needs it, so a
cold start imports next to nothing (chalicelib/manifest.py). To add a blueprint, route or
handler: docs/CONVENTIONS.md, "Adding routes and handlers".
"""

from chalice import Chalice

from chalicelib import config, manifest
from chalicelib.api.middleware import request_context
from chalicelib.observability import invocation_middleware

config.check_startup()  # a deployed production function refuses to run without its KMS key
app = Chalice(app_name="seo-content-engine")
app.register_middleware(request_context, "http")
# Every invocation (HTTP, SQS, schedule): Lambda context on log lines, X-Ray, metrics flushed.
app.register_middleware(invocation_middleware, "all")

# Every route, and each worker_<queue> / tick_<schedule> as a module-level name of this module
# (Lambda's handler is "app.<name>"; the local worker loop and clock look them up here too).
blueprints = manifest.register(app, globals())
