"""The served OpenAPI document says what the server does: schemathesis generates requests for
every operation from ``openapi.yaml`` and sends them to a real ``jupyter server`` with
labtrack; no answer may be a 5xx, every answer must match its declared schema, every
schema-valid request must be accepted (2xx, or 404 for what does not exist: a 400 would mean
the document leaves out a rule the server enforces), every schema-invalid one refused (4xx: a
200 would mean the document states a rule the server does not keep), and a
method a path does not declare gets 405 with an ``Allow`` header.

Bounded (a few examples per operation and mode, derandomized) so it runs in CI in a minute or
two; ``python tests/openapi_deep.py --examples 50`` is the deep version with counts per check.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")

from live_server import LiveServer, start_live_server  # noqa: E402
from openapi_deep import operations, run_operation  # noqa: E402

EXAMPLES_PER_OPERATION = 4
CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("schemathesis"))


def test_the_document_and_the_server_agree(live: LiveServer) -> None:
    """Every operation, a bounded number of generated cases per mode (schema-valid and
    schema-invalid); every failing case of every check is reported. (Driven through
    Hypothesis directly: schemathesis' pytest plugin does not run under pytest 9.)"""
    ops = operations()
    assert len(ops) >= 60  # the whole document, not an empty parse
    tally = None
    for operation in ops:
        tally = run_operation(
            operation,
            url=live.url,
            token=live.token,
            examples=EXAMPLES_PER_OPERATION,
            checks=CHECKS,
            tally=tally,
        )
    assert tally is not None
    assert tally.cases >= EXAMPLES_PER_OPERATION * len(ops)
    failures = [
        f"{f.check}: {f.operation} ({f.mode}) -> {f.status} {f.error_code}: {f.detail[:500]}"
        for f in tally.findings
    ]
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures)


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE"])
def test_undeclared_methods_are_405_with_allow(live: LiveServer, method: str) -> None:
    """A declared path answers a method it does not declare with 405 + ``Allow`` (MLflow's
    error shape), on RPC and handler routes. (OPTIONS stays Jupyter's CORS preflight.)"""
    import requests

    for path, allowed in (
        ("/api/2.0/mlflow/runs/create", "POST"),
        ("/api/2.0/mlflow-artifacts/artifacts", "GET"),
    ):
        r = requests.request(
            method, live.url + path, headers={"Authorization": f"token {live.token}"}, timeout=30
        )
        assert r.status_code == 405, (path, r.status_code, r.text)
        assert r.headers["Allow"] == allowed
        assert r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
