"""The one registry of cloud resources: tables, queues, schedules, the media bucket.

The local stack (``infra/local``) and the cloud template (``infra/template.py``) are both
generated from what is declared here; nothing about a resource is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from pynamodb.models import Model

from chalicelib import config
from chalicelib.messages import AutomationEvent, DeletionTurn, MailMessage, Message, PublishItem, StageItem

# Modules holding PynamoDB models. Every Model subclass defined in them is a table.
MODEL_MODULES = (
    "chalicelib.models.accounts",
    "chalicelib.models.billing",
    "chalicelib.models.planner",
    "chalicelib.models.writer",
    "chalicelib.models.modules",
    "chalicelib.models.system",
    "chalicelib.models.jobs",
    "chalicelib.models.publisher",
    "chalicelib.models.automation",
    "chalicelib.models.payments",
    "chalicelib.models.deletions",
    "chalicelib.models.mail",
    "chalicelib.models.audit",
    "chalicelib.models.limits",
    "chalicelib.models.api_keys",
)


def table_models() -> list[type[Model]]:
    """Every table's model, in a stable order."""
    models: list[type[Model]] = []
    for module_name in MODEL_MODULES:
        module = import_module(module_name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Model)
                and value.__module__ == module_name
                and hasattr(value, "Meta")
                and getattr(value.Meta, "table_name", None)
            ):
                models.append(value)
    return models


@dataclass(frozen=True)
class QueueDef:
    """A queue, the message model it carries, and the worker that drains it: a work queue with its
    dead-letter queue, or (``dead_letters_of``) the dead-letter queue of a work queue, which has
    none of its own and carries the work queue's messages."""

    key: str
    description: str
    message: type[Message]
    batch_size: int = 5
    function_timeout: int = 120
    max_receive_count: int = 5
    reserved_concurrency: int = 2
    memory_mb: int = 512
    dead_letters_of: str | None = None  # the work queue whose DLQ this is
    drain_dead_letters: bool = True  # a function fails the items of this queue's dead letters

    @property
    def name(self) -> str:
        if self.dead_letters_of is not None:
            return queue(self.dead_letters_of).dlq_name
        return f"{config.resource_prefix()}-{self.key.replace('_', '-')}"

    @property
    def dlq_name(self) -> str:
        if self.dead_letters_of is not None:
            raise ValueError(f"{self.key} is a dead-letter queue: it has no DLQ of its own")
        return f"{self.name}-dlq"

    @property
    def visibility_timeout(self) -> int:
        # AWS recommends six times the function timeout, so a slow batch is not
        # redelivered while it is still being worked on.
        return self.function_timeout * 6

    @property
    def handler_name(self) -> str:
        return f"worker_{self.key}"


@dataclass(frozen=True)
class ScheduleDef:
    """An EventBridge schedule and the handler it fires."""

    key: str
    description: str
    rate_minutes: int
    function_timeout: int = 300

    @property
    def handler_name(self) -> str:
        return f"tick_{self.key}"

    @property
    def expression(self) -> str:
        unit = "minute" if self.rate_minutes == 1 else "minutes"
        return f"rate({self.rate_minutes} {unit})"


# The generation stages, in pipeline order: a stage is a queue of StageItems, and its key is the
# stage's name everywhere (services.pipeline.stages.<key> is its code).
STAGE_QUEUES: tuple[QueueDef, ...] = (
    QueueDef("cluster_keywords", "Group a site's keywords into clusters", StageItem),
    QueueDef("generate_ideas", "Turn clusters into content ideas", StageItem),
    QueueDef("create_tasks", "Turn approved ideas into writing tasks (no AI)", StageItem, batch_size=10),
    QueueDef("generate_content", "Write an article for a task", StageItem, function_timeout=300, batch_size=1),
    QueueDef("generate_image_prompts", "Write image prompts for an article", StageItem),
    QueueDef("generate_images", "Render the images of an article", StageItem, function_timeout=300,
             batch_size=1),
)
STAGE_NAMES: tuple[str, ...] = tuple(q.key for q in STAGE_QUEUES)

QUEUES: tuple[QueueDef, ...] = (
    *STAGE_QUEUES,
    QueueDef("publish_content", "Publish a content item to WordPress", PublishItem, batch_size=1),
    # A lost event is mended by the automation tick: nothing waits on its dead letters.
    QueueDef("automation_events", "Advance automation runs when their stages finish", AutomationEvent,
             batch_size=10, drain_dead_letters=False),
    QueueDef("deletions", "Delete a deleted site's or sector's records, resumably", DeletionTurn, batch_size=1,
             function_timeout=300, reserved_concurrency=2),
    QueueDef("mail", "Send one e-mail, at most once per event key", MailMessage, batch_size=10,
             function_timeout=60, memory_mb=256),
)

# The consumers of dead letters: a message lands in a work queue's DLQ when its worker died (timed
# out, ran out of memory) on every one of its max_receive_count deliveries, so the item it carried
# is still "running" and nothing else would ever finish it. Each consumer fails that item with its
# reason (worker_died), retryable like any failure (docs/chaos-and-load.md, "Dead letters"). A
# message whose item another worker still holds is given back (it comes again after the DLQ's
# visibility timeout): these queues have no DLQ of their own and keep a message 14 days.
DEAD_LETTER_QUEUES: tuple[QueueDef, ...] = tuple(
    QueueDef(f"{q.key}_dlq", f"Fail the {q.key.replace('_', ' ')} items whose worker died on every delivery",
             q.message, batch_size=10, function_timeout=60, max_receive_count=0, reserved_concurrency=2,
             memory_mb=256, dead_letters_of=q.key)
    for q in QUEUES if q.drain_dead_letters)

SCHEDULES: tuple[ScheduleDef, ...] = (
    ScheduleDef("automation", "Start due automation runs; fail runs past their max runtime", 5),
    ScheduleDef("publishing", "Slot approved content and publish what is due", 5),
)


def consumed_queues() -> tuple[QueueDef, ...]:
    """Every queue a function drains: the work queues, then the dead-letter queues with a consumer."""
    return QUEUES + DEAD_LETTER_QUEUES


def queue(key: str) -> QueueDef:
    for q in consumed_queues():
        if q.key == key:
            return q
    raise KeyError(key)


def dead_letter_queue_of(key: str) -> QueueDef | None:
    """The consumer of the work queue ``key``'s DLQ, if it has one."""
    return next((q for q in DEAD_LETTER_QUEUES if q.dead_letters_of == key), None)


def schedule(key: str) -> ScheduleDef:
    for s in SCHEDULES:
        if s.key == key:
            return s
    raise KeyError(key)


# --- the code behind each function ----------------------------------------------------------
# app.py does not import this code: it registers every route, queue worker and schedule from
# chalicelib/manifest.json, generated from the three tables below by `make manifest`
# (tests/infra/test_manifest.py fails while it is stale), and a module is imported on the
# first request, message or tick that needs it. A cold start imports next to nothing, and a
# worker never imports the API.

# Blueprint modules (``bp = Blueprint(__name__)``, routes declared with ``api.routing.route``).
API_MODULES: tuple[str, ...] = (
    "chalicelib.api.meta",
    "chalicelib.api.auth",
    "chalicelib.api.users",
    "chalicelib.api.sites",
    "chalicelib.api.industries",
    "chalicelib.api.credits",
    "chalicelib.api.planner",
    "chalicelib.api.writer",
    "chalicelib.api.modules",
    "chalicelib.api.ai_settings",
    "chalicelib.api.prompts",
    "chalicelib.api.author_profiles",
    "chalicelib.api.admin.providers",
    "chalicelib.api.admin.ai_models",
    "chalicelib.api.admin.credit_costs",
    "chalicelib.api.admin.strategies",
    "chalicelib.api.jobs",
    "chalicelib.api.publisher",
    "chalicelib.api.automation",
    "chalicelib.api.billing",
    "chalicelib.api.stripe_webhooks",
    "chalicelib.api.admin.accounts",
    "chalicelib.api.invites",
    "chalicelib.api.me",
    "chalicelib.api.audit",
    "chalicelib.api.api_keys",
    "chalicelib.api.admin.account_credits",
    "chalicelib.api.generation",
)

# Message model -> "module:factory" of the workers of its queues, and of their dead-letter queues;
# ``factory(QueueDef)`` returns the SQS handler ``fn(event)``.
WORKERS: dict[type[Message], str] = {
    StageItem: "chalicelib.events.pipeline:stage_worker",
    PublishItem: "chalicelib.events.publishing:publish_worker",
    AutomationEvent: "chalicelib.events.automation:automation_worker",
    DeletionTurn: "chalicelib.events.deletion:deletion_worker",
    MailMessage: "chalicelib.events.mail:mail_worker",
}
DEAD_LETTER_WORKERS: dict[type[Message], str] = {
    StageItem: "chalicelib.events.dead_letters:stage_dead_letter_worker",
    PublishItem: "chalicelib.events.dead_letters:publish_dead_letter_worker",
    DeletionTurn: "chalicelib.events.dead_letters:deletion_dead_letter_worker",
    MailMessage: "chalicelib.events.mail:mail_dead_letter_worker",
}

# Queue key -> "module:factory". The function is ``QueueDef.handler_name`` (worker_<key>), batch
# size and concurrency from QUEUES / DEAD_LETTER_QUEUES.
QUEUE_HANDLERS: dict[str, str] = {
    q.key: (DEAD_LETTER_WORKERS if q.dead_letters_of else WORKERS)[q.message] for q in consumed_queues()}

# Schedule key -> "module:function"; ``function(event)`` is the tick (``ScheduleDef.handler_name``).
SCHEDULE_HANDLERS: dict[str, str] = {
    "publishing": "chalicelib.events.publishing:tick",
    "automation": "chalicelib.events.automation:tick",
}
