"""Run the API as a real uvicorn process on a free loopback port (tests, benchmarks, tooling).

The server picks its own port (``--port 0``); we learn it from uvicorn's "running on" line, so no
port is guessed and nothing polls or sleeps while it starts. With ``workers=N`` (uvicorn's
supervisor and N worker processes sharing the socket) it also waits for N "Application startup
complete" lines: each worker logs one once its lifespan (engine, models) is up.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
_STARTED = "Application startup complete"


@dataclass(frozen=True)
class ServerProcess:
    base_url: str
    process: subprocess.Popen[str]


@contextmanager
def server_process(
    env: dict[str, str],
    *,
    extra_args: tuple[str, ...] = (),
    workers: int = 1,
    app: str = "tactful.api.app:create_app",
) -> Iterator[ServerProcess]:
    """Start the app factory ``app`` (``tactful.api.app:create_app``) with ``env`` (``workers``
    processes: uvicorn's ``--workers``, when more than one); stop it with SIGTERM on exit.

    Raises ``RuntimeError`` if the server exits before it is ready."""
    several = ("--workers", str(workers)) if workers > 1 else ()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory",
         "--host", "127.0.0.1", "--port", "0", "--log-level", "info", *several, *extra_args],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    base_url = None
    started = 0
    for line in proc.stderr:  # blocks until uvicorn logs where it listens and the workers are up
        found = _READY.search(line)
        if found:
            base_url = found.group(1)
        started += _STARTED in line
        if base_url is not None and started >= workers:
            break
    if base_url is None or started < workers:
        proc.wait()
        raise RuntimeError(f"uvicorn exited with {proc.returncode} before it was ready")
    # Keep reading the log so a full pipe never blocks the server.
    drain = threading.Thread(target=proc.stderr.read, daemon=True)
    drain.start()
    try:
        yield ServerProcess(base_url, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        drain.join(timeout=30)
        proc.stderr.close()
