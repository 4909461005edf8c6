"""Interleaved A/B of the HTTP service between source trees: one uvicorn process per tree (each on
its own SQLite file), all up for the whole run; per round each server gets wrk on GET /healthz then
on POST /v1/messages, the trees' order reversed every other round, so a change of the machine's
load weighs on all alike.

    PYTHONPATH=src python bench/http_ab.py /work/wt/<name>-base /work/wt/<name> [--rounds 4] [--seconds 6]

A tree may carry environment settings for its server after a ``+``: ``/path/tree+TACTFUL_X=1,Y=2``.
``--stub-decide`` serves every tree through ``http_stub_app`` (the HTTP layer alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from http_load import measured, wrk, wrk_missing

from tactful.api.process import server_process

HERE = Path(__file__).parent
KEY = (
    "import sys; from tactful.store import open_store; from tactful.tenants import create_tenant;"
    "s = open_store(sys.argv[1]); print(create_tenant(s, 'bench').api_key); s.close()"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--stub-decide", action="store_true")
    args = parser.parse_args()
    if (why := wrk_missing()) is not None:
        raise SystemExit(why)
    app = "http_stub_app:create" if args.stub_decide else "tactful.api.app:create_app"
    c = args.connections
    with ExitStack() as stack:
        servers = []
        for spec in args.trees:
            tree, _, settings = spec.partition("+")
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{tmp}/http.db"
            env = {
                **os.environ,
                **dict(kv.split("=", 1) for kv in settings.split(",") if kv),
                "PYTHONPATH": f"{tree}/src{os.pathsep}{HERE}",
                "TACTFUL_DATABASE_URL": url,
            }
            if args.stub_decide:
                env |= {"TACTFUL_RATE_LIMIT_PER_SECOND": "1000000", "TACTFUL_RATE_LIMIT_BURST": "1000000"}
            made = subprocess.run([sys.executable, "-c", KEY, url], env=env, capture_output=True, text=True)
            key = made.stdout.strip().splitlines()[-1]
            server = stack.enter_context(server_process(env, extra_args=("--no-access-log",), app=app))
            wrk(f"{server.base_url}/healthz", 1, c)  # warm-up
            wrk(f"{server.base_url}/v1/messages", 2, c, key=key)
            servers.append((spec, server, key))
        rows: dict[str, list[dict[str, float]]] = {spec: [] for spec in args.trees}
        for r in range(args.rounds):
            for spec, server, key in servers if r % 2 == 0 else servers[::-1]:
                pids = [server.process.pid]
                h = measured(f"{server.base_url}/healthz", args.seconds, c, pids)
                p = measured(f"{server.base_url}/v1/messages", args.seconds, c, pids, key=key)
                row = {
                    "healthz_per_s": h["per_s"],
                    "post_per_s": p["per_s"],
                    "ratio": p["per_s"] / h["per_s"],
                    "healthz_cpu_ms": 1000 * sum(h["server_cpu_s"]) / h["requests"],
                    "post_cpu_ms": 1000 * sum(p["server_cpu_s"]) / p["requests"],
                    "post_bad": p["non2xx"] + p["errors"],
                    "load": os.getloadavg()[0],
                }
                rows[spec].append(row)
                print(r, spec, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
    for spec, runs in rows.items():
        means = {k: round(statistics.fmean(x[k] for x in runs), 3) for k in runs[0]}
        print("MEAN", spec, means)


if __name__ == "__main__":
    main()
