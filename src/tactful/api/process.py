"""Run the API as a real uvicorn process on a free loopback port (tests, benchmarks, tooling).

The server picks its own port (``--port 0``); we learn it from uvicorn's "running on" line, so no
port is guessed and nothing polls or sleeps while it starts.
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


@dataclass(frozen=True)
class ServerProcess:
    base_url: str
    process: subprocess.Popen[str]


@contextmanager
def server_process(env: dict[str, str], *, extra_args: tuple[str, ...] = ()) -> Iterator[ServerProcess]:
    """Start ``tactful.api.app:create_app`` (one worker) with ``env``; stop it with SIGTERM on exit.

    Raises ``RuntimeError`` if the server exits before it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tactful.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", "0", "--log-level", "info", *extra_args],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    base_url = None
    for line in proc.stderr:  # blocks until uvicorn logs where it listens (or exits)
        found = _READY.search(line)
        if found:
            base_url = found.group(1)
            break
    if base_url is None:
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
