"""The served OpenAPI document says what the server does: schemathesis generates requests for
every operation from ``openapi.yaml`` and sends them to a real ``jupyter server`` with
labtrack; no answer may be a 5xx, every answer must match its declared schema, and a method
a path does not declare gets 405 with an ``Allow`` header.

Bounded (a few examples per operation, a fixed seed) so it runs in CI in about a minute; the
same command with ``st run`` and more examples is the deep version (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from live_server import LiveServer, start_live_server  # noqa: E402

OPENAPI = Path(str(resources.files("labtrack.server").joinpath("openapi.yaml")))
EXAMPLES_PER_OPERATION = 6
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("schemathesis"))


def _operations():
    schema = schemathesis.openapi.from_path(OPENAPI)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_server_errors_and_answers_match_the_document(live: LiveServer) -> None:
    """Every operation, a bounded number of generated cases each. (Driven through Hypothesis
    directly: schemathesis' pytest plugin does not run under pytest 9.)"""
    headers = {"Authorization": f"token {live.token}"}
    failures: list[str] = []
    operations = _operations()
    assert len(operations) >= 60  # the whole document, not an empty parse
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case) -> None:
            case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS, timeout=30)

        try:
            check()
        except Exception as exc:  # one line per failing operation, all of them reported
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)


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
