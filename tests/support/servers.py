"""Private Redis, NATS (JetStream) and PostgreSQL servers for tests that inject faults.

Each server runs in its own temporary directory on a free port, in its own process group, so a test
can stop it, kill it with SIGKILL, freeze it (SIGSTOP) and thaw it (SIGCONT), or restart it on the
same port and data directory — without ever touching the shared services on 5432/6379/4222.
Readiness is a bounded poll of the server's own protocol (PING, the JetStream health endpoint,
``SELECT 1``), never a fixed sleep.

Usage::

    with RedisServer.running() as redis:      # also NatsServer, PostgresCluster
        ... redis.url ...
        redis.kill()                          # kill -9
        redis.restart()                       # back on the same port, ready
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from glob import glob
from pathlib import Path
from typing import Any, Self

import pytest

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice for an ephemeral bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed on this machine")
    return path


def _poll(check: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Call ``check()`` until it returns True, backing off from 10 ms to 200 ms; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError) as exc:  # not listening yet, or half-started
            last = exc
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s (last error: {last})")


class ServerProcess:
    """One server process in its own process group, with the fault operations tests need."""

    name = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"tactful-{self.name}-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = self.workdir / "server.log"

    # -- what subclasses define ----------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def is_ready(self) -> bool:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-time set-up of the data directory before the first start."""

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def running(cls, **options: Any) -> Iterator[Self]:
        server = cls(**options)
        try:
            server.prepare()
            server.start()
            yield server
        finally:
            server.cleanup()

    def start(self) -> None:
        if self.alive:
            return
        log = self._log.open("ab")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: signals reach the server and its children only
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        def check() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            return self.is_ready()

        _poll(check, f"{self.name} on port {self.port}", timeout)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        """Graceful stop (SIGTERM, or the server's own fast-shutdown signal), waiting for exit."""
        if not self.alive:
            return
        self.thaw()
        self._signal_group(self.stop_signal)
        assert self.proc is not None
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    stop_signal = signal.SIGTERM

    def kill(self) -> None:
        """``kill -9`` of the whole server (its process group), as a crash would do."""
        if self.proc is None:
            return
        pids = [self.proc.pid, *descendants(self.proc.pid)]
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)
        # Every process of the old server gone, not only the one we waited for: a PostgreSQL
        # backend still exiting holds the shared memory block, and a restart then fails with
        # "pre-existing shared memory block is still in use" (seen once under load).
        _poll(lambda: not any(map(_running, pids)), f"{self.name} processes exit", STOP_TIMEOUT_S)
        self._after_kill()

    def _after_kill(self) -> None:
        """Wait until the port is free again so a restart can bind it."""

        def port_free() -> bool:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) != 0

        _poll(port_free, f"{self.name} port {self.port} release", STOP_TIMEOUT_S)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets open but answers nothing (a hung peer)."""
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        if self.alive:
            self.thaw()
            self._signal_group(signal.SIGKILL)
            assert self.proc is not None
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self._log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (exited, waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def descendants(pid: int) -> list[int]:
    """``pid``'s descendants, parents first (read from /proc; no process is matched by name)."""
    found: list[int] = []
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, listed):
        found += [child, *descendants(child)]
    return found


class RedisServer(ServerProcess):
    name = "redis"

    def __init__(self, password: str | None = None) -> None:
        super().__init__()
        self.password = password

    def command(self) -> list[str]:
        cmd = [
            _require("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        if self.password:
            cmd += ["--requirepass", self.password]
        return cmd

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def is_ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            if self.password:
                sock.sendall(f"AUTH {self.password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")


class NatsServer(ServerProcess):
    name = "nats"

    def __init__(self) -> None:
        super().__init__()
        self.monitor_port = free_port()

    def command(self) -> list[str]:
        return [
            _require("nats-server"),
            "-js",
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-m", str(self.monitor_port),
            "-sd", str(self.workdir / "jetstream"),
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def is_ready(self) -> bool:
        health = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(health, timeout=1) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError:
            return False


class PostgresCluster(ServerProcess):
    """A PostgreSQL cluster made by ``initdb`` in a temp dir, trust auth, database ``test``.

    ``initdb`` refuses to run as root, so under root the cluster runs as the ``postgres`` user.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: abort transactions, checkpoint, exit

    def __init__(self) -> None:
        super().__init__()
        bins = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            pytest.skip("PostgreSQL server binaries (initdb) are not installed")
        self.bindir = Path(bins[-1]).parent
        self.datadir = self.workdir / "data"
        self.sockdir = self.workdir / "sock"

    def _as_owner(self, cmd: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return cmd
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *cmd]

    def prepare(self) -> None:
        self.sockdir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
            shutil.chown(self.sockdir, "postgres", "postgres")
        subprocess.run(
            self._as_owner([
                str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C",
            ]),
            check=True, capture_output=True, cwd=self.workdir,
        )  # fmt: skip

    def _signal_group(self, sig: signal.Signals) -> None:
        # PostgreSQL's children call setsid(): the process group holds the postmaster alone, so
        # freezing or killing "the server" means the postmaster and every backend it forked.
        if self.proc is None or self.proc.poll() is not None:
            return
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop_immediately(self) -> None:
        """PostgreSQL's "immediate" shutdown (SIGQUIT): what a crash looks like to clients — no
        goodbye to sessions, crash recovery at the next start."""
        if not self.alive:
            return
        self.thaw()
        self._signal_group(signal.SIGQUIT)
        assert self.proc is not None
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
        self._after_kill()

    def command(self) -> list[str]:
        return self._as_owner([
            str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
            "-k", str(self.sockdir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "max_connections=200",
        ])  # fmt: skip

    def start(self) -> None:
        super().start()
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'test'").fetchone()
            if found is None:
                conn.execute("CREATE DATABASE test")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def is_ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.admin_url, connect_timeout=1) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False
