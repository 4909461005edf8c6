"""HTTP throughput with wrk (``make bench``): one process on SQLite, and one against two processes
on PostgreSQL.

wrk is a C load generator, so the client costs far less CPU than the server it measures (the old
threaded Python client shared the two cores with the server and capped the /healthz baseline).
``bench/wrk_messages.lua`` gives every POST a unique event id. The machine has 2 cores: wrk, the
server processes and PostgreSQL share them, so the figures are ratios to a baseline taken in the same
run, with the CPU each side used printed next to them.

    PYTHONPATH=src python bench/http_load.py [--seconds 8] [--connections 8] [--only http] [--stub-decide]
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
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tactful.api.process import server_process
from tactful.store import open_store
from tactful.tenants import create_tenant

WRK_SCRIPT = Path(__file__).with_name("wrk_messages.lua")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
TICKS = os.sysconf("SC_CLK_TCK")


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


def bench_http(
    seconds: float,
    tmp: Path,
    connections: int = 8,
    uvicorn_args: tuple[str, ...] = (),
    stub_decide: bool = False,
) -> dict[str, Any]:
    """One uvicorn process on SQLite: GET /healthz and POST /v1/messages, same server, same run.
    ``uvicorn_args``: e.g. ``--loop asyncio --http h11`` to compare with uvloop and httptools.
    ``stub_decide``: every POST answered with the first decision (``http_stub_app``), the HTTP
    layer alone; the rate limit is lifted so that no POST is a cheap 429."""
    url = f"sqlite:///{tmp / 'http.db'}"
    store = open_store(url)
    key = create_tenant(store, "bench").api_key
    store.close()
    env = {**os.environ, "TACTFUL_DATABASE_URL": url}
    app = "tactful.api.app:create_app"
    if stub_decide:
        here = str(Path(__file__).parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (here, env.get("PYTHONPATH"))))
        env |= {"TACTFUL_RATE_LIMIT_PER_SECOND": "1000000", "TACTFUL_RATE_LIMIT_BURST": "1000000"}
        app = "http_stub_app:create"
    with server_process(env, extra_args=("--no-access-log", *uvicorn_args), app=app) as server:
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
        #: Every backend seen: more than the pool holds means connections were opened and closed.
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), state, pid"
                    " FROM pg_stat_activity WHERE application_name = %s",
                    (self.application,),
                ).fetchall()
                self.samples += 1
                self.counts.update(r[0] for r in rows if r[1] == "active")
                self.pids.update(int(r[2]) for r in rows)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def per_sample(self) -> dict[str, float]:
        """Mean number of backends in each wait state at a sample (the top ones)."""
        return {k: round(v / max(1, self.samples), 2) for k, v in self.counts.most_common(6)}


def backend_pids(application: str) -> list[int]:
    """The PostgreSQL backends serving one ``application_name`` (the server runs on this machine,
    so their CPU is read from /proc like the API processes')."""
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def backends_cpu(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except OSError:  # a backend that ended meanwhile (a pooled connection replaced)
            continue
    return found


def database_counts() -> tuple[int, int]:
    """Deadlocks PostgreSQL has broken and sessions it has opened in this database so far (all
    clients: the database is shared, so a run's difference is an upper bound on its own)."""
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        query = "SELECT deadlocks, sessions FROM pg_stat_database WHERE datname = current_database()"
        row = conn.execute(query).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def bench_postgres_processes(
    seconds: float, connections: int = 16, processes: int = 2
) -> dict[str, Any] | None:
    """POST /v1/messages against 1 and against ``processes`` uvicorn workers (``--workers``, one
    socket) on PostgreSQL, each server on a fresh schema of its own. Both servers run for the
    whole bench and wrk drives them in the order 1, N, N, 1 (``seconds`` / 2 each), so a change of
    the machine's load during the run weighs on both alike. None without a PostgreSQL server."""
    with ExitStack() as stack:
        servers: dict[int, tuple[str, str, str, list[int]]] = {}
        for n in (1, processes):
            url = stack.enter_context(postgres_schema())
            if url is None:
                return None
            store = open_store(url)
            key = create_tenant(store, f"bench{n}").api_key
            store.close()
            env = {**os.environ, "TACTFUL_DATABASE_URL": url}
            server = stack.enter_context(server_process(env, extra_args=("--no-access-log",), workers=n))
            target = f"{server.base_url}/v1/messages"
            servers[n] = (target, key, url.rsplit("application_name=", 1)[1], server_pids(server.process.pid))
        for target, key, _, _ in servers.values():
            wrk(target, 3.0, connections, key=key)  # warm-up: every worker's caches and pool
        parts: dict[int, list[dict[str, Any]]] = {1: [], processes: []}
        for n in (1, processes, processes, 1):
            target, key, application, pids = servers[n]
            deadlocks, sessions = database_counts()
            backends = backends_cpu(backend_pids(application))
            with WaitSampler(application) as waits:
                part = measured(target, seconds / 2, connections, pids, key=key)
            part["pg_waits"] = waits.per_sample()
            # Backends opened during the run count whole; ones closed before its end are missed.
            after = backends_cpu(sorted(waits.pids | set(backends)))
            part["pg_cpu_s"] = round(sum(after[p] - backends.get(p, 0.0) for p in after), 2)
            part["pg_backends"] = len(waits.pids)
            part["load"] = os.getloadavg()[0]
            deadlocks_after, sessions_after = database_counts()
            part["deadlocks"] = deadlocks_after - deadlocks
            # Minus this function's own connection after the run.
            part["sessions"] = sessions_after - sessions - 1
            parts[n].append(part)
    runs = {n: _combined(p) for n, p in parts.items()}
    return {
        "connections": connections,
        "seconds": seconds,
        "runs": runs,
        "ratio": runs[processes]["per_s"] / runs[1]["per_s"],
    }


def _combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Two wrk runs against one server as one: totals, mean p50, worst p99, mean waits."""
    keys = ("requests", "seconds", "non2xx", "errors", "deadlocks", "pg_cpu_s", "sessions")
    total = {k: sum(p.get(k, 0) for p in parts) for k in keys}
    waits: Counter[str] = Counter()
    for p in parts:
        waits.update({k: v / len(parts) for k, v in p["pg_waits"].items()})
    return {
        **total,
        "per_s": total["requests"] / total["seconds"],
        "p50_ms": sum(p["p50_ms"] for p in parts) / len(parts),
        "p99_ms": max(p["p99_ms"] for p in parts),
        "server_cpu_s": [round(sum(cpu), 2) for cpu in zip(*(p["server_cpu_s"] for p in parts), strict=True)],
        "pg_waits": {k: round(v, 2) for k, v in waits.most_common(6)},
        "load": max(p.get("load", 0.0) for p in parts),
        "pg_backends": max(p.get("pg_backends", 0) for p in parts),
    }


def _row(name: str, r: dict[str, Any]) -> str:
    cpu = sum(r["server_cpu_s"])
    per_request = 1000 * cpu_per_request(r)
    return (
        f"| {name} | {r['per_s']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
        f"{r['non2xx'] + r['errors']:.0f} | {cpu / r['seconds']:.2f} | {per_request:.2f} |"
    )


_HEADER = [
    "| run | req/s | p50 | p99 | non-2xx + errors | server cores busy | server CPU-ms per request |",
    "|---|---|---|---|---|---|---|",
]


def cpu_per_request(run: dict[str, Any]) -> float:
    return sum(run["server_cpu_s"]) / run["requests"] if run["requests"] else float("nan")


def cpu_ratio(http_: dict[str, Any]) -> float:
    """healthz CPU per request / POST CPU per request: the req/s ratio if the server were the only
    thing limiting both (on a loaded machine wrk or the scheduler can cap the healthz baseline)."""
    return cpu_per_request(http_["trivial"]) / cpu_per_request(http_["decide"])


def http_section(http_: dict[str, Any], decide: dict[str, Any]) -> list[str]:
    """Markdown for ``bench_http``; ``decide``: the in-process figures of the same run."""
    t, d = http_["trivial"], http_["decide"]
    return [
        "## Over HTTP, one uvicorn process (wrk)",
        "",
        f"`wrk -t2 -c{http_['connections']} -d{http_['seconds']:.0f}s -s bench/wrk_messages.lua` against "
        "one uvicorn process (uvloop, httptools when installed) on a SQLite file, default settings "
        "(as the in-process run); both endpoints in the same run against the same process, one "
        "after the other.",
        "",
        *_HEADER,
        _row("GET /healthz (baseline)", t),
        _row("POST /v1/messages (decide)", d),
        "",
        f"- POST / healthz: **{http_['ratio']:.3f}** (target ≥ 0.2); by the server's CPU per request, "
        f"which the machine's load does not move: {cpu_ratio(http_):.3f}",
        f"- HTTP decisions/s / in-process decisions/s (one thread, same run): "
        f"{d['per_s']:.0f} / {float(decide['per_s']):.0f} = **{d['per_s'] / float(decide['per_s']):.2f}×** "
        "(target ≥ 0.8×; the server overlaps decisions waiting on the commit, group commit batches them)",
        "",
    ]


def _waits(run: dict[str, Any]) -> str:
    waits = ", ".join(f"{k} {v}" for k, v in run["pg_waits"].items())
    return (
        f"{waits}; deadlocks broken in the database meanwhile: {run.get('deadlocks', '?')}; "
        f"connections opened: {run.get('sessions', '?')} (the wait sampler's own included)"
    )


def _cpu(n: int, run: dict[str, Any]) -> str:
    """Where the CPU of a request went, and the throughput the cores it got allow."""
    server = 1000 * cpu_per_request(run)
    pg = 1000 * run.get("pg_cpu_s", 0.0) / max(1, run["requests"])
    busy = (sum(run["server_cpu_s"]) + run.get("pg_cpu_s", 0.0)) / run["seconds"]
    return (
        f"- CPU, {n}: {server:.2f} ms in the API process(es) + {pg:.2f} ms in PostgreSQL's backends "
        f"per request; together {busy:.2f} cores busy (load average {run.get('load', 0):.1f}); "
        f"{run['per_s'] / busy:.0f} requests per busy core-second"
    )


def scale_section(scale: dict[str, Any]) -> list[str]:
    """Markdown for ``bench_postgres_processes``."""
    runs: dict[int, dict[str, Any]] = scale["runs"]
    lines = [
        "## Two API processes on PostgreSQL (wrk)",
        "",
        f"wrk -t2 -c{scale['connections']}, POST /v1/messages, against `uvicorn --workers N` (one "
        "socket) on the PostgreSQL server here, each server on a fresh schema; both servers up for "
        f"the whole run, driven in the order 1, N, N, 1 ({scale['seconds'] / 2:.0f} s each), so a "
        "change of the machine's load weighs on both alike. wrk, the API processes and PostgreSQL "
        "share the machine's cores. PostgreSQL waits: mean number of the server's backends in each "
        "state per 20 ms sample of pg_stat_activity.",
        "",
        *_HEADER,
        *[_row(f"{n} process{'es' if int(n) > 1 else ''}", r) for n, r in runs.items()],
        "",
        *[f"- waits, {n}: " + _waits(r) for n, r in runs.items()],
        *[_cpu(int(n), r) for n, r in runs.items()],
        f"- {max(map(int, runs))} processes / 1: **{scale['ratio']:.2f}×** (target ≥ 1.6×)",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pg-connections", type=int, default=16)
    parser.add_argument("--only", choices=("http", "postgres"))
    parser.add_argument("--uvicorn-args", default="", help='e.g. "--loop asyncio --http h11"')
    parser.add_argument("--stub-decide", action="store_true", help="the HTTP layer alone (http_stub_app)")
    args = parser.parse_args()
    if (why := wrk_missing()) is not None:
        raise SystemExit(why)
    started = time.perf_counter()
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            uvicorn_args = tuple(args.uvicorn_args.split())
            result = bench_http(args.seconds, Path(tmp), args.connections, uvicorn_args, args.stub_decide)
            print(json.dumps(result, indent=2))
            print(f"POST/healthz {result['ratio']:.3f}; by server CPU per request {cpu_ratio(result):.3f}")
    if args.only != "http":
        print(json.dumps(bench_postgres_processes(args.seconds, args.pg_connections), indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
