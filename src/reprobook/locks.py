"""One run of a notebook per build folder: ``build/.running/<name>.lock``, held with ``flock``.

The process that runs a notebook into a build folder holds that notebook's lock until it exits; the
operating system releases it when the process ends, however it ends. :func:`hold` takes a lock (or
names its holder), :func:`holders` asks without taking: ``reprobook book`` uses it so as not to build a
page from a notebook that is still being executed. Where ``fcntl`` is missing (Windows), nothing is
held and nothing is reported.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

RUNNING = ".running"
# lock file → its open handle, held until this process exits
_held: dict[Path, Any] = {}


def lock_path(build: Path, name: str) -> Path:
    return Path(build).resolve() / RUNNING / f"{name}.lock"


def hold(build: Path, name: str) -> str | None:
    """Take ``name``'s lock in ``build`` until this process exits; ``None`` when taken (or already
    held here), otherwise the holder's line: "reprobook run, pid N, since <time>"."""
    path = lock_path(build, name)
    if fcntl is None or path in _held:
        return None
    path.parent.mkdir(exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        return holder
    handle.seek(0)
    handle.truncate()
    handle.write(
        f"reprobook run, pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )
    handle.flush()
    _held[path] = handle
    return None


def holders(build: Path, names: list[str]) -> dict[str, str]:
    """The notebooks among ``names`` that another process is running into ``build`` now, each with its
    holder's line. Takes no lock (a free one is tried and let go at once)."""
    busy = {}
    for name in names:
        path = lock_path(build, name)
        if fcntl is None or path in _held or not path.is_file():
            continue
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                busy[name] = handle.read().strip() or "another process"
            else:
                fcntl.flock(handle, fcntl.LOCK_UN)
    return busy
