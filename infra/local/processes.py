"""Child processes of the local stack (and of the demo / e2e tests that run the stack).

Every child is started in its own session (so its own process group): a Ctrl-C in the
terminal reaches only the parent, which then stops each group in order, and a child that
forked helpers of its own is stopped with them. On Linux each child also asks the kernel
to send it SIGTERM if its parent dies (PR_SET_PDEATHSIG), so even a ``kill -9`` of the
parent leaves no orphan behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    # Resolved here, in the parent: loading a library between fork and exec is not safe.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def venv_tool(name: str) -> str:
    """A console script of this interpreter's environment (.venv/bin/<name>), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return name


@dataclass
class Child:
    """A started child process that leads its own process group."""

    name: str
    process: subprocess.Popen
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the whole group, wait, then SIGKILL what is left. Returns the exit code."""
        try:
            if self.alive():
                _signal_group(self.pid, sig)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(self.pid, signal.SIGKILL)
                    self.process.wait(timeout=5)
            # Helpers the child forked may outlive it in its group: clear the group too.
            _signal_group(self.pid, signal.SIGKILL)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
        return self.process.returncode


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def spawn(name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | str = ROOT,
          log_path: Path | None = None) -> Child:
    """Start ``argv`` in a new session; its output goes to ``log_path`` (or is inherited)."""
    log = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # closed by Child.stop
    process = subprocess.Popen(
        list(argv), cwd=str(cwd), env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT if log else None,
        # preexec_fn: the stack spawns its children before it starts any thread.
        start_new_session=True, preexec_fn=_die_with_parent,
    )
    return Child(name, process, log_path, log)


def wait_for_port(port: int, *, timeout: float, host: str = LOOPBACK,
                  alive: Callable[[], bool] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the process meant to listen on {host}:{port} exited")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def wait_for_http(url: str, *, timeout: float, alive: Callable[[], bool] | None = None) -> None:
    """Poll ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the process meant to serve {url} exited")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
        except (OSError, urllib.error.URLError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s ({last_error})")


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def is_running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


@dataclass
class BackgroundStack:
    """``python -m infra.local.stack`` started in the background on free ports (demo, e2e tests)."""

    port: int
    moto_port: int
    state_dir: Path
    log_path: Path
    child: Child
    extra_args: tuple[str, ...] = ()
    console_port: int | None = None

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def console_url(self) -> str:
        """The web console, with /v1 on the same origin."""
        return f"http://{LOOPBACK}:{self.console_port}"

    @classmethod
    def start(cls, *, state_dir: Path, extra_args: Sequence[str] = (), port: int | None = None,
              moto_port: int | None = None, env: Mapping[str, str] | None = None) -> BackgroundStack:
        port = port or free_port()
        moto_port = moto_port or free_port()
        while moto_port == port:
            moto_port = free_port()
        console_port = None
        if "--no-console" not in extra_args:
            console_port = free_port()
            while console_port in (port, moto_port):
                console_port = free_port()
        state_dir.mkdir(parents=True, exist_ok=True)
        log_path = state_dir / "stack.log"
        log_path.write_bytes(b"")
        argv = [sys.executable, "-m", "infra.local.stack", "--port", str(port), "--moto-port", str(moto_port),
                "--state-dir", str(state_dir), *extra_args]
        if console_port is not None:
            argv += ["--console-port", str(console_port)]
        child_env = dict(env if env is not None else os.environ)
        child_env["PYTHONPATH"] = str(ROOT)
        child_env["PYTHONUNBUFFERED"] = "1"
        child = spawn("stack", argv, env=child_env, log_path=log_path)
        return cls(port, moto_port, state_dir, log_path, child, tuple(extra_args), console_port)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        wait_for_http(f"{self.api_url}/v1/health", timeout=timeout, alive=self.child.alive)
        # The API answers before the stack has started its workers and written stack.json.
        deadline = time.monotonic() + timeout
        while not (self.state_dir / "stack.json").exists():
            if not self.child.alive():
                raise RuntimeError("the local stack exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("the local stack did not report ready")
            time.sleep(0.1)

    def info(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "stack.json").read_text())

    def interrupt(self, timeout: float = 60.0) -> int | None:
        """Ctrl-C the stack (SIGINT to its main process only) and wait for it to finish."""
        if self.child.alive():
            os.kill(self.child.pid, signal.SIGINT)
            try:
                self.child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        return self.child.stop(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
