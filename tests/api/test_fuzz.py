"""Property-based fuzzing of the HTTP API with schemathesis, against ``/openapi.json`` in-process.

Every ``/v1`` operation gets generated requests (valid ones, with a tenant's admin key): no 5xx, and
every response — status, content type, headers, body — matches what the document declares.
Derandomised (a fixed seed derived from the test), a bounded number of examples per operation, no
example database: the run is the same every time and stays within about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.store import open_store
from tactful.tenants import create_tenant

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Valid requests exercise the handlers; invalid ones (wrong types, missing fields, bad formats)
#: must be refused with a declared 4xx, never a 5xx.
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}


def _constrained(operation: dict[str, Any]) -> bool:
    """Whether some input can violate the schema (else negative generation has nothing to make)."""
    if "requestBody" in operation:
        return True
    loose = {"type", "title", "description"}
    return any(
        set(p.get("schema", {})) - loose or p["schema"].get("type") != "string"
        for p in operation.get("parameters", [])
    )


def _cases() -> list[tuple[str, str, GenerationMode]]:
    # The document does not need a store: list operations at collection time, so each is a test.
    spec: dict[str, Any] = create_app(settings=Settings()).openapi()
    return [
        (method.upper(), path, mode)
        for path, operations in spec["paths"].items()
        if path.startswith("/v1")
        for method, operation in operations.items()
        for mode in EXAMPLES
        if mode is GenerationMode.POSITIVE or _constrained(operation)
    ]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    store = open_store(f"sqlite:///{path}")
    created = create_tenant(store, "fuzz")
    app = create_app(Engine(EngineParts(store)), Settings())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    try:
        yield schema, {"Authorization": f"Bearer {created.api_key}"}
    finally:
        store.close()


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_generated_requests_get_no_5xx_and_schema_conformant_answers(
    target: tuple[Any, dict[str, str]], method: str, path: str, mode: GenerationMode
) -> None:
    schema, auth = target
    operation = schema[path][method]

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    run()
