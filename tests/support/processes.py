"""Tactful's own processes for multi-process tests: ``tactful worker --role …`` started with given
settings, ready once it prints its ``{"status": "ready"}`` line (no polling, no sleeps)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class WorkerProcess:
    roles: tuple[str, ...]
    process: subprocess.Popen[str]
    drain: threading.Thread

    def _closed(self) -> None:
        self.drain.join(timeout=30)  # the pipe reaches EOF once the process is gone
        if self.process.stdout is not None:
            self.process.stdout.close()

    def kill(self) -> None:
        """``kill -9``: no clean shutdown, no last ack."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._closed()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self._closed()


def start_worker(env: dict[str, str], *roles: str) -> WorkerProcess:
    return ready_worker(spawn_worker(env, *roles), roles)


def spawn_worker(env: dict[str, str], *roles: str) -> subprocess.Popen[str]:
    args = [a for role in roles for a in ("--role", role)]
    return subprocess.Popen(
        [sys.executable, "-c", "from tactful.cli import app; app()", "worker", *args],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def ready_worker(proc: subprocess.Popen[str], roles: tuple[str, ...]) -> WorkerProcess:
    """Wait for the worker's ready line (or its exit)."""
    assert proc.stdout is not None
    for line in proc.stdout:  # blocks until the worker says it is ready (or exits)
        if line.startswith("{") and json.loads(line).get("status") == "ready":
            break
    else:
        proc.wait()
        raise RuntimeError(f"worker {roles} exited with {proc.returncode} before it was ready")
    drain = threading.Thread(target=proc.stdout.read, daemon=True)  # never let the pipe fill
    drain.start()
    return WorkerProcess(roles, proc, drain)


@contextmanager
def workers(env: dict[str, str], *role_sets: tuple[str, ...]) -> Iterator[list[WorkerProcess]]:
    """Start the workers at once (each takes seconds to import and load its models), then wait for
    every one to be ready."""
    spawned = [(spawn_worker(env, *roles), roles) for roles in role_sets]
    started: list[WorkerProcess] = []
    try:
        for proc, roles in spawned:
            started.append(ready_worker(proc, roles))
        yield started
    finally:
        for worker in started:  # all at once: each takes a few seconds to shut down cleanly
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in started:
            worker.stop()
        for proc, _ in spawned[len(started) :]:
            proc.kill()
            proc.wait(timeout=30)
