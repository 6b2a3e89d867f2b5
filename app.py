"""The Chalice app: registration only. The domain lives in chalicelib/services."""

from chalice import Chalice, Rate

from chalicelib import config
from chalicelib.api import account_settings, admin_system, auth, credits, industries, jobs, meta, sites, users
from chalicelib.api import modules as modules_api
from chalicelib.api import planner as planner_api
from chalicelib.api import publisher as publisher_api
from chalicelib.api import writer as writer_api
from chalicelib.api.middleware import request_context
from chalicelib.observability import invocation_middleware

config.check_startup()  # a deployed production function refuses to run without its KMS key
app = Chalice(app_name="seo-content-engine")
app.register_middleware(request_context, "http")
# Every invocation (HTTP, SQS, schedule): Lambda context on log lines, X-Ray, metrics flushed.
app.register_middleware(invocation_middleware, "all")

for blueprint_module in (meta, auth, users, sites, industries, credits, planner_api, writer_api, modules_api,
                          admin_system, account_settings, jobs):
    app.register_blueprint(blueprint_module.bp)
app.register_blueprint(publisher_api.bp)

# --- queue workers and schedules: one per registry entry ---------------------------------
from chalicelib import registry  # noqa: E402
from chalicelib.events import workers  # noqa: E402

for _queue in registry.QUEUES:
    if _queue.key in workers.STAGE_QUEUE_KEYS:
        # Module-level names, so the local worker loop finds the very same handler objects.
        globals()[_queue.handler_name] = app.on_sqs_message(
            queue=_queue.name, batch_size=_queue.batch_size, name=_queue.handler_name,
            maximum_concurrency=max(2, _queue.reserved_concurrency),
        )(workers.stage_worker(_queue))

# --- publishing: the publish queue's worker and the tick -----------------------------------
from chalicelib.events import publishing as publishing_events  # noqa: E402

_publish_queue = registry.queue("publish_content")
worker_publish_content = app.on_sqs_message(
    queue=_publish_queue.name, batch_size=_publish_queue.batch_size, name=_publish_queue.handler_name,
    maximum_concurrency=max(2, _publish_queue.reserved_concurrency),
)(publishing_events.publish_worker(_publish_queue))


@app.schedule(Rate(registry.schedule("publishing").rate_minutes, unit=Rate.MINUTES), name="tick_publishing")
def tick_publishing(event):
    return publishing_events.tick(event)
