"""Where a benchmark's data file is: committed in ``infra/bench/data`` (see its README for sources and
licences), unless an environment variable names another file."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().with_name("data")


def dataset(file_name: str, override_env: str) -> Path:
    """``$override_env`` if set, else ``infra/bench/data/<file_name>``; a missing file is an error that says
    which variable to set."""
    override = os.environ.get(override_env)
    path = Path(override) if override else DATA_DIR / file_name
    if not path.is_file():
        raise FileNotFoundError(f"benchmark data {path} is missing: restore infra/bench/data/{file_name} "
                                f"(git checkout) or set {override_env}=/path/to/{file_name}")
    return path
