"""HTTP throughput with wrk (``make bench``): one process on SQLite, and one against two processes
on PostgreSQL.

wrk is a C load generator, so the client costs far less CPU than the server it measures (the old
threaded Python client shared the two cores with the server and capped the /healthz baseline).
``bench/wrk_messages.lua`` gives every POST a unique event id. The machine has 2 cores: wrk, the
server processes and PostgreSQL share them, so the figures are ratios to a baseline taken in the same
run, with the CPU each side used printed next to them.

    PYTHONPATH=src python bench/http_load.py [--seconds 8] [--connections 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tactful.api.process import server_process
from tactful.store import open_store
from tactful.tenants import create_tenant

WRK_SCRIPT = Path(__file__).with_name("wrk_messages.lua")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
TICKS = os.sysconf("SC_CLK_TCK")
#: Without it an API process serves the demo's richer tiers where the chat budget allows them.
SERVER_ENV = {"TACTFUL_SIGNAL_TIERS": "fast"}


def wrk_missing() -> str | None:
    """Why the wrk figures cannot be measured here, or None."""
    return (
        None if shutil.which("wrk") else "wrk is not installed (`apt-get install -y wrk`; `make bench` tries)"
    )


def wrk(
    url: str, seconds: float, connections: int, threads: int = 2, key: str | None = None
) -> dict[str, float]:
    """One wrk run against ``url``: a POST /v1/messages per request with ``key``, else plain GETs."""
    env = {**os.environ, "TACTFUL_BENCH_RUN": uuid.uuid4().hex[:8]}
    env.pop("TACTFUL_BENCH_KEY", None)
    if key is not None:
        env["TACTFUL_BENCH_KEY"] = key
    duration = f"-d{max(1, round(seconds))}s"  # wrk takes whole seconds
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        duration,
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result: dict[str, float] = json.loads(line.removeprefix("WRK_JSON "))
    result["per_s"] = result["requests"] / result["seconds"]
    return result


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def server_pids(pid: int) -> list[int]:
    """The server and, under uvicorn's supervisor, its worker processes."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *map(int, children)]


def measured(
    url: str, seconds: float, connections: int, pids: list[int], key: str | None = None
) -> dict[str, Any]:
    """A wrk run with the CPU seconds each server process used during it."""
    before = {p: cpu_seconds(p) for p in pids}
    result: dict[str, Any] = wrk(url, seconds, connections, key=key)
    result["server_cpu_s"] = [round(cpu_seconds(p) - before[p], 2) for p in pids]
    return result


def bench_http(seconds: float, tmp: Path, connections: int = 8) -> dict[str, Any]:
    """One uvicorn process on SQLite: GET /healthz and POST /v1/messages, same server, same run."""
    url = f"sqlite:///{tmp / 'http.db'}"
    store = open_store(url)
    key = create_tenant(store, "bench").api_key
    store.close()
    env = {**os.environ, **SERVER_ENV, "TACTFUL_DATABASE_URL": url}
    with server_process(env, extra_args=("--no-access-log",)) as server:
        pids = server_pids(server.process.pid)
        wrk(f"{server.base_url}/healthz", 1.0, connections)  # warm-up
        wrk(f"{server.base_url}/v1/messages", 2.0, connections, key=key)
        trivial = measured(f"{server.base_url}/healthz", seconds, connections, pids)
        decide = measured(f"{server.base_url}/v1/messages", seconds, connections, pids, key=key)
    return {
        "connections": connections,
        "seconds": seconds,
        "trivial": trivial,
        "decide": decide,
        "ratio": decide["per_s"] / trivial["per_s"],
    }


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A scratch schema on the PostgreSQL server here (its URL), or None when there is none."""
    import psycopg

    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        yield None
        return
    schema = f"tactful_http_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # Named after the schema too, so the wait sampler sees this run's backends only (the
        # database is shared with other work).
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


class WaitSampler:
    """Samples what the backends of one ``application_name`` wait on (pg_stat_activity), every 20 ms."""

    def __init__(self, application: str) -> None:
        self.application = application
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity"
                    " WHERE application_name = %s AND state = 'active'",
                    (self.application,),
                ).fetchall()
                self.samples += 1
                self.counts.update(r[0] for r in rows)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def per_sample(self) -> dict[str, float]:
        """Mean number of backends in each wait state at a sample (the top ones)."""
        return {k: round(v / max(1, self.samples), 2) for k, v in self.counts.most_common(6)}


def bench_postgres_processes(
    seconds: float, connections: int = 16, workers: tuple[int, ...] = (1, 2)
) -> dict[str, Any] | None:
    """POST /v1/messages against 1, then 2 uvicorn worker processes (``--workers``, one socket) on
    one PostgreSQL store; each in a fresh schema. None without a PostgreSQL server."""
    runs: dict[int, dict[str, Any]] = {}
    for n in workers:
        with postgres_schema() as url:
            if url is None:
                return None
            store = open_store(url)
            key = create_tenant(store, f"bench{n}").api_key
            store.close()
            env = {**os.environ, **SERVER_ENV, "TACTFUL_DATABASE_URL": url}
            with server_process(env, extra_args=("--no-access-log",), workers=n) as server:
                pids = server_pids(server.process.pid)
                target = f"{server.base_url}/v1/messages"
                wrk(target, 3.0, connections, key=key)  # warm-up: every worker's caches and pool
                with WaitSampler(url.rsplit("application_name=", 1)[1]) as waits:
                    runs[n] = measured(target, seconds, connections, pids, key=key)
                runs[n]["pg_waits"] = waits.per_sample()
    first = runs[workers[0]]["per_s"]
    return {
        "connections": connections,
        "seconds": seconds,
        "runs": runs,
        "ratio": runs[workers[-1]]["per_s"] / first,
    }


def _row(name: str, r: dict[str, Any]) -> str:
    cpu = sum(r["server_cpu_s"])
    per_request = 1000 * cpu / r["requests"] if r["requests"] else float("nan")
    return (
        f"| {name} | {r['per_s']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
        f"{r['non2xx'] + r['errors']:.0f} | {cpu / r['seconds']:.2f} | {per_request:.2f} |"
    )


_HEADER = [
    "| run | req/s | p50 | p99 | non-2xx + errors | server cores busy | server CPU-ms per request |",
    "|---|---|---|---|---|---|---|",
]


def http_section(http_: dict[str, Any], decide: dict[str, Any]) -> list[str]:
    """Markdown for ``bench_http``; ``decide``: the in-process figures of the same run."""
    t, d = http_["trivial"], http_["decide"]
    return [
        "## Over HTTP, one uvicorn process (wrk)",
        "",
        f"`wrk -t2 -c{http_['connections']} -d{http_['seconds']:.0f}s -s bench/wrk_messages.lua` against "
        "one uvicorn process (uvloop, httptools when installed) on a SQLite file, the fast signal "
        "tier; both endpoints in the same run against the same process, one after the other.",
        "",
        *_HEADER,
        _row("GET /healthz (baseline)", t),
        _row("POST /v1/messages (decide)", d),
        "",
        f"- POST / healthz: **{http_['ratio']:.3f}** (target ≥ 0.2)",
        f"- HTTP decisions/s / in-process decisions/s (one thread, same run): "
        f"{d['per_s']:.0f} / {float(decide['per_s']):.0f} = **{d['per_s'] / float(decide['per_s']):.2f}×** "
        "(target ≥ 0.8×; the server overlaps decisions waiting on the commit, group commit batches them)",
        "",
    ]


def _waits(run: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in run["pg_waits"].items())


def scale_section(scale: dict[str, Any]) -> list[str]:
    """Markdown for ``bench_postgres_processes``."""
    runs: dict[int, dict[str, Any]] = scale["runs"]
    lines = [
        "## Two API processes on PostgreSQL (wrk)",
        "",
        f"`wrk -t2 -c{scale['connections']} -d{scale['seconds']:.0f}s` POST /v1/messages against "
        "`uvicorn --workers N` (one socket) on the PostgreSQL server here, a fresh schema per run; "
        "wrk, the API processes and PostgreSQL share the machine's cores. PostgreSQL waits: mean "
        "number of this run's backends in each state per 20 ms sample of pg_stat_activity.",
        "",
        *_HEADER,
        *[_row(f"{n} process{'es' if n > 1 else ''}", r) for n, r in runs.items()],
        "",
        *[f"- waits, {n}: " + _waits(r) for n, r in runs.items()],
        f"- {max(runs)} processes / 1: **{scale['ratio']:.2f}×** (target ≥ 1.6×)",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pg-connections", type=int, default=16)
    parser.add_argument("--only", choices=("http", "postgres"))
    args = parser.parse_args()
    if (why := wrk_missing()) is not None:
        raise SystemExit(why)
    started = time.perf_counter()
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(bench_http(args.seconds, Path(tmp), args.connections), indent=2))
    if args.only != "http":
        print(json.dumps(bench_postgres_processes(args.seconds, args.pg_connections), indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
