"""Real servers on their own free ports for fault injection: a PostgreSQL cluster in a temporary
directory and a redis-server, each with kill -9, stop, restart and freeze (SIGSTOP) / thaw.

Readiness is learnt from the servers themselves (``pg_ctl -w``; redis-server's "Ready to accept
connections" line), never by sleeping. The shared services on 5432/6379 are never touched.
PostgreSQL refuses to run as root, so when the tests run as root the cluster runs as ``postgres``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    """``pid``'s descendants, parents first (read from /proc; no process is matched by name)."""
    found: list[int] = []
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, listed):
        found += [child, *_children(child)]
    return found


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class RedisServer:
    def __init__(self, workdir: Path, *, password: str | None = None) -> None:
        self.workdir = workdir
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError(f"redis-server exited with {proc.wait()} before it was ready")
        self._drain = threading.Thread(target=proc.stdout.read, daemon=True)  # never let the pipe fill
        self._drain.start()
        self.process = proc

    def kill(self) -> None:
        """kill -9 and reap: the port is free again (a later ``start`` reuses it)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server cannot die until it runs
            self.process.kill()
            self.process.wait()
            self._drain.join(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class PostgresCluster:
    """A throwaway cluster: ``initdb`` into a new directory under /tmp (pytest's own temporary
    directories are private to root, which the ``postgres`` user cannot enter), trust auth, its unix
    socket in that directory."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.workdir = Path(tempfile.mkdtemp(prefix="tactful-pg-"))
        self.data = self.workdir / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            shutil.chown(self.workdir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.workdir)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=100 -c shared_buffers=32MB")  # fmt: skip
        log = str(self.workdir / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """An immediate shutdown: what a crash looks like to clients (no goodbye to sessions)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """kill -9 of the postmaster and every backend."""
        pid = self.postmaster_pid()
        _signal_all([pid, *_children(pid)], signal.SIGKILL)

    def freeze(self) -> list[int]:
        """SIGSTOP the postmaster and all its backends; returns the pids for ``thaw``."""
        pid = self.postmaster_pid()
        pids = [pid, *_children(pid)]
        _signal_all(pids, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        _signal_all(pids, signal.SIGCONT)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
