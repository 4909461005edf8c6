"""The fault suite's runs as a table: requests sent, 2xx, 503 with a code, any other status, no
answer, lost, duplicated and recovery time, per fault (docs/security.md, docs/performance.md).

Each scenario runs against a real uvicorn process on its own PostgreSQL cluster and redis-server
(``tests/faults/``): kill -9 of the API, PostgreSQL stopped / restarted / frozen (SIGSTOP), Redis
stopped / frozen. Recovery is from the repair (server started or thawed; for kill -9 the kill) to
the first 2xx answering a request sent after it.

    python bench/faults.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the rig lives in tests/faults

from tests.faults import scenarios
from tests.faults.harness import HEADER, Report, rig

COMMAND = "python bench/faults.py"


def main() -> None:
    reports: list[Report] = []
    with rig() as made, made.api() as server:
        for run in (
            scenarios.pg_stopped,
            scenarios.pg_restarted,
            scenarios.pg_frozen,
            scenarios.redis_stopped,
            scenarios.redis_frozen,
        ):
            reports.append(run(made, server))
        reports.append(scenarios.api_killed(made, server))  # last: this process dies
    print(f"Command: {COMMAND}\n")
    print(HEADER)
    for report in reports:
        print(report.row())
    print()
    for report in reports:
        if report.notes:
            print(f"- {report.scenario}: {json.dumps(report.notes)}")


if __name__ == "__main__":
    main()
