"""``make run``: the whole product on this machine, on loopback, with no AWS account.

Starts moto's server (DynamoDB, SQS, S3, scheduler), optionally Amazon's DynamoDB Local for
the tables, creates the registry's tables, queues and bucket, seeds built-in data, serves
the Chalice API with ``chalice local``, and runs in this process a worker loop (SQS ->
handlers) and a clock (schedules -> handlers). Ctrl-C stops everything it started.

    python -m infra.local.stack [--port 8000] [--moto-port N] [--dynamodb moto|local]
                                [--no-workers] [--no-clock] [--clock-speed X] [--state-dir .local]
                                [--concurrency N | --workers N] [--console-port 8080 | --no-console]

See docs/local-stack.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from infra.local import dynamodb_local
from infra.local.processes import (
    LOOPBACK,
    ROOT,
    Child,
    free_port,
    port_is_free,
    spawn,
    venv_tool,
    wait_for_http,
    wait_for_port,
)

log = logging.getLogger("infra.stack")

REGION = "us-east-1"
# Fake credentials: they reach no AWS account. Letters and digits only, because DynamoDB
# Local (2.0+) rejects any other access key with UnrecognizedClientException.
FAKE_ACCESS_KEY = "localstackfakekey"
FAKE_SECRET_KEY = "localstackfakesecret"
DEFAULT_PREFIX = "seo-dev"
CHALICE_STAGE = "dev"
# Settings of the developer's shell that would send a child to real AWS or elsewhere.
_SCRUBBED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3",
             "AWS_ENDPOINT_URL_SCHEDULER", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_CONFIG_FILE",
             "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass
class Options:
    port: int = 8000
    moto_port: int | None = None
    dynamodb: str = "moto"
    workers: bool = True
    clock: bool = True
    clock_speed: float = 1.0
    concurrency: int = 1
    worker_threads: int | None = None
    retry_backoff: float = 1.0
    state_dir: Path = field(default_factory=lambda: ROOT / ".local")
    console_port: int | None = 8080  # None: no console (and no demo account)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m infra.local.stack", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    p.add_argument("--moto-port", type=int, default=None, help="moto server port (default: a free port)")
    p.add_argument("--dynamodb", choices=("moto", "local"), default="moto",
                   help="where the tables live: moto (default) or Amazon's DynamoDB Local")
    p.add_argument("--no-workers", dest="workers", action="store_false", help="do not poll the queues")
    p.add_argument("--no-clock", dest="clock", action="store_false", help="do not fire the schedules")
    p.add_argument("--clock-speed", type=float, default=1.0,
                   help="schedule rate multiplier: 60 fires a 5-minute schedule every 5 seconds (default 1)")
    p.add_argument("--concurrency", type=int, default=1, help="worker threads per queue (default 1)")
    p.add_argument("--workers", dest="worker_threads", type=int, default=None, metavar="N",
                   help="N worker threads in all, shared by every queue (instead of --concurrency per queue)")
    p.add_argument("--retry-backoff", type=float, default=1.0,
                   help="seconds before a failed message's first retry, doubling per retry (default 1; 0 = now)")
    p.add_argument("--state-dir", type=Path, default=ROOT / ".local",
                   help="signing secret, logs and stack.json (default .local/)")
    p.add_argument("--console-port", type=int, default=8080,
                   help="the web console and /v1 on one origin (default 8080; web/dist, built by `make web`)")
    p.add_argument("--no-console", dest="console", action="store_false",
                   help="do not serve the web console (nor make the demo account)")
    a = p.parse_args(argv)
    if a.clock_speed <= 0:
        p.error("--clock-speed must be positive")
    if a.concurrency < 1:
        p.error("--concurrency must be at least 1")
    if a.worker_threads is not None and a.worker_threads < 1:
        p.error("--workers must be at least 1")
    return Options(port=a.port, moto_port=a.moto_port, dynamodb=a.dynamodb, workers=a.workers, clock=a.clock,
                   clock_speed=a.clock_speed, concurrency=a.concurrency, worker_threads=a.worker_threads,
                   retry_backoff=a.retry_backoff,
                   state_dir=a.state_dir.resolve(), console_port=a.console_port if a.console else None)


def ensure_signing_secret(state_dir: Path) -> str:
    """The stack's APP_SIGNING_SECRET: made once (random, mode 600) and reused, so tokens survive restarts."""
    path = state_dir / "signing-secret"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if len(value) >= 32:
            os.chmod(path, 0o600)
            return value
        path.unlink()
        return ensure_signing_secret(state_dir)
    with os.fdopen(fd, "w") as f:
        value = secrets.token_urlsafe(48)
        f.write(value + "\n")
    return value


def chalice_stage_prefix(stage: str = CHALICE_STAGE) -> str:
    # `chalice local --stage dev` applies the stage's environment over ours, so the in-process
    # worker must use the very prefix the API process will see.
    try:
        cfg = json.loads((ROOT / ".chalice" / "config.json").read_text())
        return str(cfg["stages"][stage]["environment_variables"]["RESOURCE_PREFIX"])
    except (OSError, KeyError, ValueError):
        return DEFAULT_PREFIX


def stack_env(*, moto_endpoint: str, prefix: str, secret: str, dynamodb_endpoint: str | None,
              base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    for name in _SCRUBBED:
        env.pop(name, None)
    env.update(
        AWS_ACCESS_KEY_ID=FAKE_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=FAKE_SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        ALLOW_LOOPBACK_TARGETS="1",
        APP_STAGE=CHALICE_STAGE,
        RESOURCE_PREFIX=prefix,
        APP_SIGNING_SECRET=secret,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    if dynamodb_endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    return env


class _Shutdown(BaseException):
    # A BaseException, like KeyboardInterrupt: botocore and PynamoDB retry on Exception,
    # and would swallow a stop request raised while a call is in flight.
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


class _Signals:
    """SIGINT/SIGTERM/SIGHUP end the stack; while a child is being started they wait, so that
    every started process is recorded before the clean-up runs."""

    def __init__(self) -> None:
        self._deferred = 0
        self._pending: int | None = None
        self.stopping = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        if self._deferred:
            self._pending = signum
            return
        raise _Shutdown(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1
            if not self._deferred and self._pending is not None and not self.stopping:
                signum, self._pending = self._pending, None
                raise _Shutdown(signum)


class LocalStack:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.children: list[Child] = []
        self.ddb: dynamodb_local.DynamoDBLocal | None = None
        self.worker: Any = None
        self.clock: Any = None
        self.console: Any = None
        self.signals = _Signals()
        self.info: dict[str, Any] = {}

    @property
    def stack_file(self) -> Path:
        return self.o.state_dir / "stack.json"

    def run(self) -> int:
        self.signals.install()
        try:
            self._check_ports()
            self._start()
            return self._supervise()
        except _Shutdown as exc:
            print(f"\n{exc}: stopping the local stack ...", flush=True)
            return 0
        except KeyboardInterrupt:
            print("\nstopping the local stack ...", flush=True)
            return 0
        except StackError as exc:
            print(f"local stack: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.signals.stopping = True
            self._stop()

    def _check_ports(self) -> None:
        if not port_is_free(self.o.port):
            raise StackError(f"port {self.o.port} is in use (is another `make run` running?); "
                             f"pick another with ARGS='--port N'")
        if self.o.moto_port is not None and not port_is_free(self.o.moto_port):
            raise StackError(f"moto port {self.o.moto_port} is in use; pick another with --moto-port")
        if self.o.console_port is not None and not port_is_free(self.o.console_port):
            raise StackError(f"console port {self.o.console_port} is in use; pick another with "
                             f"ARGS='--console-port N' (or --no-console)")

    def _start(self) -> None:
        started = time.monotonic()
        o = self.o
        o.state_dir.mkdir(parents=True, exist_ok=True)
        self.stack_file.unlink(missing_ok=True)
        secret = ensure_signing_secret(o.state_dir)
        prefix = chalice_stage_prefix()
        if os.environ.get("RESOURCE_PREFIX", prefix) != prefix:
            log.warning("RESOURCE_PREFIX=%s ignored: chalice's %s stage pins %s", os.environ["RESOURCE_PREFIX"],
                        CHALICE_STAGE, prefix)
        moto_port = o.moto_port or free_port()
        moto_endpoint = f"http://{LOOPBACK}:{moto_port}"

        (o.state_dir / "moto.log").write_bytes(b"")
        with self.signals.deferred():
            moto = spawn("moto", [venv_tool("moto_server"), "-H", LOOPBACK, "-p", str(moto_port)],
                         log_path=o.state_dir / "moto.log")
            self.children.append(moto)
        try:
            wait_for_port(moto_port, timeout=30, alive=moto.alive)
        except (TimeoutError, RuntimeError) as exc:
            raise StackError(f"moto did not start: {exc} (see {moto.log_path})") from None
        log.info("moto up on %s (%.1fs)", moto_endpoint, time.monotonic() - started)

        dynamodb_endpoint: str | None = None
        if o.dynamodb == "local":
            try:
                with self.signals.deferred():
                    self.ddb = dynamodb_local.start()
            except dynamodb_local.DynamoDBLocalUnavailable as exc:
                raise StackError(f"--dynamodb local: {exc}") from None
            dynamodb_endpoint = self.ddb.endpoint
            log.info("DynamoDB Local up on %s (%.1fs)", dynamodb_endpoint, time.monotonic() - started)

        # This process is the worker and the clock: it needs the same settings as the API,
        # set before chalicelib is imported (table names are fixed at import).
        env = stack_env(moto_endpoint=moto_endpoint, prefix=prefix, secret=secret,
                        dynamodb_endpoint=dynamodb_endpoint)
        # One product clock for the API, the workers and the schedules (timeutil.advance_shared).
        clock_file = o.state_dir / "clock_offset"
        clock_file.write_text("0")
        env["LOCAL_CLOCK_FILE"] = str(clock_file)
        # Each e-mail the workers send is also kept here, one .eml file per message (services.mail.outbox).
        env.setdefault("MAIL_OUTBOX_DIR", str(o.state_dir / "mail"))
        for name in _SCRUBBED:
            os.environ.pop(name, None)
        os.environ.update(env)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))

        from chalicelib import config
        from infra.local import provision

        provision.reset_model_connections()
        resources = provision.provision_all()
        log.info("created %d tables, %d queues, bucket %s (%.1fs)", len(resources["tables_created"]),
                 len(resources["queues"]), resources["bucket"], time.monotonic() - started)
        seeded = self._seed()
        log.info("seeded %s (%.1fs)", ", ".join(seeded), time.monotonic() - started)

        # Taken after seeding: a seed step may export a setting the API needs (a key id, ...).
        env = {**os.environ}
        # Where a connected WordPress's companion plugin sends its webhooks: this API.
        env.setdefault("PUBLIC_API_URL", f"http://{LOOPBACK}:{o.port}")
        if o.console_port is not None:  # the links e-mails carry open the console's pages
            env.setdefault("WEB_APP_URL", f"http://{LOOPBACK}:{o.console_port}")
        with self.signals.deferred():
            api = spawn("chalice", [venv_tool("chalice"), "local", "--host", LOOPBACK, "--port", str(o.port),
                                    "--no-autoreload", "--stage", CHALICE_STAGE], env=env, cwd=ROOT)
            self.children.append(api)
        api_url = f"http://{LOOPBACK}:{o.port}"
        try:
            wait_for_http(f"{api_url}/v1/health", timeout=90, alive=api.alive)
        except (TimeoutError, RuntimeError) as exc:
            raise StackError(f"the API did not start: {exc}") from None

        log.info("API up on %s (%.1fs)", api_url, time.monotonic() - started)
        console_url, demo_login = self._start_console(moto_endpoint, resources["bucket"])
        app_module = importlib.import_module("app")
        workers_line, clock_line = "off (--no-workers)", "off (--no-clock)"
        if o.workers:
            from infra.local.worker import WorkerLoop, exponential_backoff

            self.worker = WorkerLoop(app_module, concurrency=o.concurrency,
                                     backoff=exponential_backoff(o.retry_backoff), pool=o.worker_threads)
            self.worker.start()
            bound = [b.queue.key for b in self.worker.bindings]
            workers_line = (f"{len(bound)} of {len(bound) + len(self.worker.unhandled)} queues have handlers"
                            + (f": {', '.join(bound)}" if bound else " (none registered yet)")
                            + (f"; {o.concurrency} threads each" if bound and o.concurrency > 1
                               and o.worker_threads is None else "")
                            + (f"; {o.worker_threads} threads shared by all" if bound and o.worker_threads else ""))
        if o.clock:
            from infra.local.clock import Clock

            self.clock = Clock(app_module, speed=o.clock_speed)
            self.clock.start()
            fired = [f"{k} every {b.interval_seconds:g}s" for k, b in self.clock.bindings.items()]
            clock_line = (f"x{o.clock_speed:g}: " + (", ".join(fired) if fired else "no schedule handlers yet"))

        queues = resources["queues"]
        self.info = {
            "pid": os.getpid(),
            "api_url": f"{api_url}/v1",
            "docs_url": f"{api_url}/v1/docs",
            "openapi_url": f"{api_url}/v1/openapi.json",
            "moto_endpoint": moto_endpoint,
            "dynamodb": o.dynamodb,
            "dynamodb_endpoint": dynamodb_endpoint or moto_endpoint,
            "region": config.region(),
            "resource_prefix": prefix,
            "bucket": resources["bucket"],
            "clock_file": os.environ.get("LOCAL_CLOCK_FILE"),
            "queues": queues,
            "tables": [m.Meta.table_name for m in _table_models()],
            "children": {c.name: c.pid for c in self.children} | (
                {"dynamodb_local": self.ddb.process.pid} if self.ddb else {}),
            "workers": [b.queue.name for b in self.worker.bindings] if self.worker else [],
            "schedules": list(self.clock.bindings) if self.clock else [],
            "seeded": seeded,
            "console_url": console_url,
            "demo_login": demo_login,
        }
        self._write_state(env)
        self._print_summary(workers_line, clock_line, time.monotonic() - started)

    def _start_console(self, media_origin: str, bucket: str) -> tuple[str | None, dict[str, str] | None]:
        """The console and /v1 on one origin, and the demo account (made through that origin)."""
        if self.o.console_port is None:
            return None, None
        from infra.local.console import ConsoleServer, allow_media_from, create_demo_account

        self.console = ConsoleServer(port=self.o.console_port, api_port=self.o.port, media_origin=media_origin).start()
        allow_media_from(self.console.url, bucket)
        if not self.console.built:
            log.warning("the console is not built (web/dist): run `make web`; %s says so meanwhile", self.console.url)
        try:
            demo_login = create_demo_account(self.console.url, self.o.state_dir)
        except RuntimeError as exc:
            raise StackError(f"the demo account could not be made through the console's origin: {exc}") from None
        log.info("console up on %s", self.console.url)
        return f"{self.console.url}/", demo_login

    def _seed(self) -> dict[str, Any]:
        from chalicelib.services.plans import seed_builtin_plans

        seeded: dict[str, Any] = {"plans": seed_builtin_plans()}
        # infra/seed.py (`make seed`) may not exist yet; when it does, the stack runs it too.
        if importlib.util.find_spec("infra.seed") is not None:
            seed_module = importlib.import_module("infra.seed")
            seed_all = getattr(seed_module, "seed_all", None)
            if callable(seed_all):
                result = seed_all()
                seeded["seed_all"] = result if isinstance(result, (dict, list, int, str)) else True
            else:
                log.warning("infra/seed.py has no seed_all(); skipped")
        return seeded

    def _write_state(self, env: dict[str, str]) -> None:
        tmp = self.stack_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.info, indent=2, default=str))
        tmp.replace(self.stack_file)
        # For pointing the AWS CLI or a script at this stack: `set -a; . .local/stack.env`.
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION",
                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "RESOURCE_PREFIX", "APP_STAGE",
                "ALLOW_LOOPBACK_TARGETS", "SECRETS_KMS_KEY_ID")
        (self.o.state_dir / "stack.env").write_text("".join(f"{k}={env[k]}\n" for k in keys if k in env))

    def _print_summary(self, workers_line: str, clock_line: str, seconds: float) -> None:
        i = self.info
        ddb_label = "Amazon DynamoDB Local" if i["dynamodb"] == "local" else "moto"
        queue_names = [n for n in i["queues"] if not n.endswith("-dlq")]
        console = []
        if i.get("console_url"):
            login = i["demo_login"]
            console = [f"  Console    {i['console_url']}  (the web app; /v1 on the same origin)",
                       f"  Sign in    {login['email']} / {login['password']}  (the demo account, free plan)"]
        lines = [
            "",
            f"Local stack up in {seconds:.1f}s (no AWS account, nothing leaves 127.0.0.1)",
            *console,
            f"  API        {i['api_url']}",
            f"  Docs       {i['docs_url']}",
            f"  OpenAPI    {i['openapi_url']}",
            f"  moto       {i['moto_endpoint']}  (SQS, S3, scheduler{', DynamoDB' if ddb_label == 'moto' else ''})",
            f"  DynamoDB   {i['dynamodb_endpoint']}  ({ddb_label}, {len(i['tables'])} tables, prefix "
            f"{i['resource_prefix']}-)",
            f"  Bucket     {i['bucket']}",
            f"  Queues     {len(queue_names)} (each with <name>-dlq):",
            *[f"               {n}" for n in queue_names],
            f"  Workers    {workers_line}",
            f"  Clock      {clock_line}",
            f"  State      {self.o.state_dir}  (signing-secret, stack.json, stack.env, moto.log)",
            "Ctrl-C stops everything.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def _supervise(self) -> int:
        while True:
            time.sleep(0.5)
            for child in self.children:
                if not child.alive():
                    print(f"local stack: {child.name} exited with code {child.process.returncode}; stopping",
                          file=sys.stderr, flush=True)
                    return 1
            if self.ddb is not None and self.ddb.process.poll() is not None:
                print("local stack: DynamoDB Local exited; stopping", file=sys.stderr, flush=True)
                return 1

    def _stop(self) -> None:
        # Order: in-process loops first (they talk to moto), then the API, then the emulators.
        for part in (self.clock, self.worker, self.console):
            if part is not None:
                try:
                    part.stop(timeout=10)
                except Exception:
                    log.exception("stopping %s failed", type(part).__name__)
        for child in reversed(self.children):
            if child.name == "moto" and self.ddb is not None:
                self._stop_ddb()
            child.stop(timeout=10)
        self._stop_ddb()
        self.stack_file.unlink(missing_ok=True)
        if self.children:
            print("local stack stopped.", flush=True)

    def _stop_ddb(self) -> None:
        if self.ddb is not None:
            self.ddb.stop()
            self.ddb = None


def _table_models() -> list[Any]:
    from chalicelib.registry import table_models

    return table_models()


class StackError(RuntimeError):
    """The stack could not start; the message says what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s",
                        datefmt="%H:%M:%S")
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return LocalStack(parse_args(argv)).run()


if __name__ == "__main__":
    code = main()
    # Every child is stopped and every file closed by now. Skip the interpreter's final
    # garbage collection: with the app's modules loaded it takes seconds after Ctrl-C.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
