"""``TrackingClient`` as MLflow users use ``MlflowClient``: explicit ids, fresh clients."""

from __future__ import annotations

import threading

import pytest


def _call_with_deadline(func, seconds: float = 20.0):
    """Run ``func`` in a thread; fail (instead of hanging the suite) if it does not return."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = func()
        except BaseException as exc:  # pragma: no cover - reported below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"call did not return within {seconds} s (deadlock)"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_a_fresh_clients_first_call_may_be_log_metric(tmp_path):
    """``MlflowClient().log_metric(run_id, ...)`` as the first call on a new client."""
    import labtrack as lt

    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run_id = lt.TrackingClient(uri).create_run("0").info.run_id

    fresh = lt.TrackingClient(uri)
    _call_with_deadline(lambda: fresh.log_metric(run_id, "loss", 0.5, step=3))
    _call_with_deadline(fresh.flush)
    history = lt.TrackingClient(uri).get_metric_history(run_id, "loss")
    assert [(m.value, m.step) for m in history] == [(0.5, 3)]


@pytest.mark.parametrize("first", ["log_metric", "flush", "service"])
def test_concurrent_first_calls_on_a_fresh_client_all_return(tmp_path, first):
    import labtrack as lt

    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run_id = lt.TrackingClient(uri).create_run("0").info.run_id
    fresh = lt.TrackingClient(uri)
    calls = {
        "log_metric": lambda: fresh.log_metric(run_id, "m", 1.0),
        "flush": fresh.flush,
        "service": lambda: fresh.service,
    }
    threads = [threading.Thread(target=calls[first], daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
