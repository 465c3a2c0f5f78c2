"""Two ``labtrack service`` replicas behind a real load balancer (issue 15, item 5).

Debian's haproxy (``tests/run_all.sh`` installs it) balances round-robin over two replica
processes of the externally managed service (``hub_fixtures``: same hub identity, same
PostgreSQL store, same SeaweedFS bucket); users' hub tokens authenticate at either. Checked:
concurrent writers through the balancer lose and duplicate nothing (exact counts), what one
replica wrote the other reads at once, and both replicas serve the same change feed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hub_fixtures import Cluster, Hub, request, run_replicas

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MLFLOW = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def cluster(hub: Hub) -> Iterator[Cluster]:
    with run_replicas(hub, 2) as running:
        yield running


def _ok(result: tuple[int, Any, dict[str, str]]) -> Any:
    status, body, _ = result
    assert status == 200, body
    return body


def _new_experiment(cluster: Cluster, token: str) -> str:
    name = f"replicas-{uuid.uuid4().hex[:8]}"
    body = _ok(
        request("POST", cluster.balancer + MLFLOW + "/experiments/create", token, {"name": name})
    )
    return str(body["experiment_id"])


def test_the_balancer_uses_both_replicas(hub: Hub, cluster: Cluster) -> None:
    served = set()
    for _ in range(8):
        status, body, headers = request(
            "GET", cluster.balancer + "/api/labtrack/whoami", hub.tokens["bob"]
        )
        assert (status, body) == (200, {"user": "bob", "team": True})
        served.add(headers.get("x-labtrack-replica"))
    assert served == {"r0", "r1"}
    # Outsiders are refused by either replica.
    for url in cluster.replicas:
        status, body, _ = request("GET", url + "/api/labtrack/whoami", hub.tokens["carol"])
        assert status == 403, body


WRITERS = 16
BATCHES = 8
POINTS = 250  # per batch: WRITERS x BATCHES x POINTS points on one shared run


def test_concurrent_writers_through_both_replicas_lose_and_duplicate_nothing(
    hub: Hub, cluster: Cluster
) -> None:
    token = hub.tokens["alice"]
    experiment = _new_experiment(cluster, token)
    shared = _ok(
        request(
            "POST",
            cluster.balancer + MLFLOW + "/runs/create",
            token,
            {"experiment_id": experiment, "run_name": "shared"},
        )
    )["run"]["info"]["run_id"]

    def writer(index: int) -> list[str]:
        created = []
        for batch in range(BATCHES):
            first = (index * BATCHES + batch) * POINTS
            metrics = [
                {"key": "loss", "value": step * 0.5, "timestamp": 1_000 + step, "step": step}
                for step in range(first, first + POINTS)
            ]
            _ok(
                request(
                    "POST",
                    cluster.balancer + MLFLOW + "/runs/log-batch",
                    token,
                    {"run_id": shared, "metrics": metrics},
                )
            )
            run = _ok(
                request(
                    "POST",
                    cluster.balancer + MLFLOW + "/runs/create",
                    token,
                    {"experiment_id": experiment, "run_name": f"w{index}-{batch}"},
                )
            )["run"]["info"]["run_id"]
            _ok(
                request(
                    "POST",
                    cluster.balancer + MLFLOW + "/runs/log-batch",
                    token,
                    {
                        "run_id": run,
                        "params": [{"key": "writer", "value": str(index)}],
                        "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}],
                    },
                )
            )
            created.append(run)
        return created

    with ThreadPoolExecutor(WRITERS) as pool:
        created = [run for runs in pool.map(writer, range(WRITERS)) for run in runs]
    assert len(created) == len(set(created)) == WRITERS * BATCHES

    expected_steps = list(range(WRITERS * BATCHES * POINTS))
    for url in cluster.replicas:  # each replica reads the same, exact history
        steps: list[int] = []
        page_token = ""
        while True:
            query = f"?run_id={shared}&metric_key=loss&max_results=25000"
            if page_token:
                query += f"&page_token={page_token}"
            body = _ok(request("GET", url + MLFLOW + "/metrics/get-history" + query, token))
            steps.extend(int(m["step"]) for m in body.get("metrics", []))
            page_token = body.get("next_page_token") or ""
            if not page_token:
                break
        assert len(steps) == len(expected_steps)
        assert sorted(steps) == expected_steps

        runs: list[dict[str, Any]] = []
        page_token = ""
        while True:
            search = {"experiment_ids": [experiment], "max_results": 1000}
            if page_token:
                search["page_token"] = page_token
            body = _ok(request("POST", url + MLFLOW + "/runs/search", token, search))
            runs.extend(body.get("runs", []))
            page_token = body.get("next_page_token") or ""
            if not page_token:
                break
        ids = [r["info"]["run_id"] for r in runs]
        assert len(ids) == len(set(ids)) == WRITERS * BATCHES + 1
        assert set(ids) == {*created, shared}
        latest = {
            r["info"]["run_id"]: {m["key"]: m["value"] for m in r["data"].get("metrics", [])}
            for r in runs
        }
        assert latest[shared] == {"loss": (len(expected_steps) - 1) * 0.5}
        assert all(latest[run] == {"m": 1.0} for run in created)


def test_a_write_via_one_replica_is_read_via_the_other_at_once(hub: Hub, cluster: Cluster) -> None:
    token = hub.tokens["bob"]
    experiment = _new_experiment(cluster, token)
    first, second = cluster.replicas
    for i in range(20):
        writer, reader = (first, second) if i % 2 == 0 else (second, first)
        run = _ok(
            request(
                "POST",
                writer + MLFLOW + "/runs/create",
                token,
                {"experiment_id": experiment, "run_name": f"r{i}"},
            )
        )["run"]["info"]
        got = _ok(request("GET", reader + MLFLOW + f"/runs/get?run_id={run['run_id']}", token))
        assert got["run"]["info"]["run_name"] == f"r{i}"
        assert got["run"]["info"]["user_id"] == "bob"
        _ok(
            request(
                "POST",
                reader + MLFLOW + "/runs/log-metric",
                token,
                {"run_id": run["run_id"], "key": "x", "value": i, "timestamp": 1, "step": 0},
            )
        )
        again = _ok(request("GET", writer + MLFLOW + f"/runs/get?run_id={run['run_id']}", token))
        assert {m["key"]: m["value"] for m in again["run"]["data"]["metrics"]} == {"x": i}


def test_the_change_feed_is_the_same_through_either_replica(hub: Hub, cluster: Cluster) -> None:
    token = hub.tokens["alice"]
    start = _ok(request("GET", cluster.replicas[0] + "/api/labtrack/changes", token))["cursor"]
    experiment = _new_experiment(cluster, token)
    polled: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    cursors = {0: start, 1: start}

    def poll(index: int) -> None:
        url = cluster.replicas[index]
        body = _ok(request("GET", url + f"/api/labtrack/changes?cursor={cursors[index]}", token))
        polled[index].extend(body.get("changes", []))
        cursors[index] = body["cursor"]

    def write(i: int) -> str:
        run = _ok(
            request(
                "POST",
                cluster.balancer + MLFLOW + "/runs/create",
                token,
                {"experiment_id": experiment, "run_name": f"feed-{i}"},
            )
        )["run"]["info"]["run_id"]
        _ok(
            request(
                "POST",
                cluster.balancer + MLFLOW + "/runs/set-tag",
                token,
                {"run_id": run, "key": "t", "value": str(i)},
            )
        )
        return str(run)

    # Pollers follow the feed on both replicas while 8 writers write through the balancer.
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(write, i) for i in range(40)]
        while not all(f.done() for f in futures):
            poll(0)
            poll(1)
        runs = [f.result() for f in futures]
    poll(0)
    poll(1)
    for index in (0, 1):
        seqs = [c["seq"] for c in polled[index]]
        assert seqs == sorted(set(seqs)), "each change once, in order"
        seen = {c["run_id"] for c in polled[index] if c.get("run_id")}
        assert set(runs) <= seen, f"replica {index} skipped {set(runs) - seen}"
    # Read again from the start through either replica: the very same feed.
    full = [
        _ok(request("GET", url + f"/api/labtrack/changes?cursor={start}&limit=10000", token))
        for url in cluster.replicas
    ]
    assert full[0] == full[1]
    assert [c["seq"] for c in full[0]["changes"]] == [c["seq"] for c in polled[0]]
