"""After a demo replay of PII-bearing messages, no raw value is anywhere: not in the SQLite database
file (with its WAL), not in the captured logs, not in the bus payloads. Bytes are grepped."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tactful import demo
from tactful.config import Settings
from tactful.domain import Envelope
from tactful.engine import Engine

# Every kind the guard detects, written the way customers write them.
VALUES = {
    "email": "maria.okafor77@example.org",
    "phone": "+44 7700 900461",
    "card": "4539 5787 6362 1486",
    "iban": "DE89 3704 0044 0532 0130 00",
    "ssn": "219-09-9999",
    "address": "221B Baker Street",
    "name": "Ingrid Kowalski",
}
TEXTS = [
    f"@AcmeHelp my card {VALUES['card']} was charged twice, refund please",
    f"you can email me at {VALUES['email']} or call {VALUES['phone']}",
    f"refund to IBAN {VALUES['iban']} please",
    f"my SSN is {VALUES['ssn']} and I live at {VALUES['address']}, where is my parcel?",
    f"Hi, my name is {VALUES['name']}. The app keeps crashing",
    f"still waiting for my refund!!\nThanks, {VALUES['name']}",
    "where is my order? it has been two weeks",
]


def _variants(value: str) -> set[bytes]:
    compact = value.replace(" ", "").replace("-", "")
    return {value.encode(), value.lower().encode(), value.upper().encode(), compact.encode()}


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    conversations = [
        {
            "dialogHeader": {"company": "AcmeHelp", "sessionID": f"s{i}"},
            "dialogContent": [
                {
                    "client": "customer",
                    "datetime": f"2026-03-0{1 + i % 7}T1{i % 10}:05:00.000Z",
                    "message": text,
                }
            ],
        }
        for i, text in enumerate(TEXTS * 3)
    ]
    path = tmp_path / "replay.json"
    path.write_text(json.dumps(conversations), encoding="utf-8")
    return path


def test_no_raw_value_in_the_database_logs_or_bus(
    tmp_path: Path, replay_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "leak.db"
    clock = demo.ReplayClock()
    engine = Engine.from_settings(Settings(database_url=f"sqlite:///{db}"), clock=clock)
    published: list[bytes] = []

    def record(envelope: Envelope) -> None:
        published.append(envelope.model_dump_json().encode())

    engine.bus.subscribe("decision.made", record, group="leak-test")
    engine.bus.subscribe("outcome.recorded", record, group="leak-test")
    try:
        tenant_id, _ = demo.seed(engine)
        messages, _ = demo.load_messages(replay_file)
        decisions = [d for _, _, d in demo.replay(engine, clock, tenant_id, messages)]
        engine.relay_events()
        assert len(decisions) == len(TEXTS) * 3
        kinds = {k for d in decisions for k in d.explanation.signals["pii"]}  # type: ignore[attr-defined]
        assert kinds >= {"email", "phone", "card", "iban", "national_id", "address", "name"}
        assert engine.vault is not None  # the values were kept, encrypted
        held = {v.value for c in demo.DEMO_CUSTOMERS for v in engine.vault.reveal(tenant_id, c.customer_id)}
        # Every value is kept, except that of a card only the last four digits are (issue 11).
        assert {v for k, v in VALUES.items() if k != "card"} <= held and "•••• 1486" in held
        files = [p for p in tmp_path.glob("leak.db*") if not p.name.endswith("master-key")]
        stored = b"".join(p.read_bytes() for p in files)  # the database, its WAL and shared memory
    finally:
        engine.close()
    stored += b"".join(p.read_bytes() for p in tmp_path.glob("leak.db*") if not p.name.endswith("master-key"))
    logs = caplog.text.encode()
    bus = b"\n".join(published)
    assert published and logs  # there was something to search
    for kind, value in VALUES.items():
        for variant in _variants(value):
            assert variant not in stored, f"{kind} found in the database files"
            assert variant not in logs, f"{kind} found in the logs"
            assert variant not in bus, f"{kind} found in a bus payload"
