"""The tracking store on real SQLite and PostgreSQL: integrity, metrics, search, migrations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labtrack.entities import Dataset, DatasetInput, Metric, RunTag, ViewType
from labtrack.entities.points import Points
from labtrack.errors import LabtrackException
from labtrack.store import schema


def _run(store, exp_id="0", name="r", tags=None, start_time=1000):
    return store.create_run(
        exp_id, "alice", start_time, {"mlflow.runName": name, **(tags or {})}, name
    )


# ---- schema and migrations --------------------------------------------------------------


def test_migrations_create_exactly_the_schema(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []


def test_head_revision_constant_matches_migrations():
    from labtrack.store.engine import HEAD_REVISION
    from labtrack.store.migrations import head_revision

    assert head_revision() == HEAD_REVISION


def test_database_from_a_newer_labtrack_is_refused(tmp_path):
    from sqlalchemy import text

    from labtrack.store.tracking_store import TrackingStore

    uri = f"sqlite:///{tmp_path / 'x.db'}"
    TrackingStore(uri).dispose()
    st = TrackingStore(uri)
    with st.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    st.dispose()
    with pytest.raises(LabtrackException, match="newer labtrack"):
        TrackingStore(uri)


def test_reopening_keeps_data_and_artifact_root(tmp_path):
    from labtrack.store.tracking_store import TrackingStore

    uri = f"sqlite:///{tmp_path / 'x.db'}"
    first = TrackingStore(uri, str(tmp_path / "art"))
    exp = first.create_experiment("kept")
    first.dispose()
    second = TrackingStore(uri)  # no artifact root given: the stored one wins
    assert second.artifact_root == str(tmp_path / "art")
    assert second.get_experiment(exp).name == "kept"


# ---- experiments ------------------------------------------------------------------------


def test_default_experiment_exists(store):
    exp = store.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"


def test_experiment_names_are_unique_even_when_deleted(store):
    eid = store.create_experiment("exp", tags={"team": "a"})
    assert store.get_experiment(eid).tags == {"team": "a"}
    assert store.get_experiment(eid).artifact_location == f"mlflow-artifacts:/{eid}"
    with pytest.raises(LabtrackException) as err:
        store.create_experiment("exp")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    store.delete_experiment(eid)
    with pytest.raises(LabtrackException):
        store.create_experiment("exp")
    store.restore_experiment(eid)
    assert store.get_experiment(eid).lifecycle_stage == "active"


def test_unknown_experiment_is_404(store):
    with pytest.raises(LabtrackException) as err:
        store.get_experiment("12345")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert store.get_experiment_by_name("nope") is None


def test_search_experiments_filter_order_and_pages(store):
    for i in range(5):
        store.create_experiment(f"exp-{i}", tags={"i": str(i)})
    page = store.search_experiments(ViewType.ACTIVE_ONLY, 2, "name LIKE 'exp-%'", ["name ASC"])
    assert [e.name for e in page] == ["exp-0", "exp-1"]
    page2 = store.search_experiments(
        ViewType.ACTIVE_ONLY, 2, "name LIKE 'exp-%'", ["name ASC"], page.token
    )
    assert [e.name for e in page2] == ["exp-2", "exp-3"]
    last = store.search_experiments(
        ViewType.ACTIVE_ONLY, 2, "name LIKE 'exp-%'", ["name ASC"], page2.token
    )
    assert [e.name for e in last] == ["exp-4"]
    assert last.token is None
    tagged = store.search_experiments(filter_string="tags.i = '3'")
    assert [e.name for e in tagged] == ["exp-3"]


# ---- runs, params, tags -----------------------------------------------------------------


def test_run_lifecycle_and_name_tag_stay_in_sync(store):
    run = _run(store, name="first")
    rid = run.info.run_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/0/{rid}/artifacts"
    info = store.update_run_info(rid, status="FINISHED", end_time=2000, run_name="renamed")
    assert (info.status, info.end_time, info.run_name) == ("FINISHED", 2000, "renamed")
    assert store.get_run(rid).data.tags["mlflow.runName"] == "renamed"
    store.set_tag(rid, "mlflow.runName", "via-tag")
    assert store.get_run(rid).info.run_name == "via-tag"
    store.delete_run(rid)
    assert store.get_run(rid).info.lifecycle_stage == "deleted"
    with pytest.raises(LabtrackException, match="must be in the 'active' state"):
        store.log_batch(rid, params=[("a", "1")])
    store.restore_run(rid)
    store.log_batch(rid, params=[("a", "1")])


def test_params_are_immutable_and_batches_atomic(store):
    rid = _run(store).info.run_id
    store.log_batch(rid, params=[("lr", "0.1")])
    store.log_batch(rid, params=[("lr", "0.1")])  # same value again: fine
    with pytest.raises(LabtrackException, match="Changing param values is not allowed"):
        store.log_batch(rid, [Metric("m", 1.0, 1, 0)], params=[("lr", "0.2")])
    run = store.get_run(rid)
    assert run.data.params == {"lr": "0.1"}
    assert "m" not in run.data.metrics  # the failed batch wrote nothing


def test_delete_tag(store):
    rid = _run(store).info.run_id
    store.set_tag(rid, "t", "v")
    store.delete_tag(rid, "t")
    assert "t" not in store.get_run(rid).data.tags
    with pytest.raises(LabtrackException) as err:
        store.delete_tag(rid, "t")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_nested_runs_are_linked(store):
    parent = _run(store, name="p").info.run_id
    child = _run(store, name="c", tags={"mlflow.parentRunId": parent}).info.run_id
    assert store.child_run_ids(parent) == [child]


def test_dataset_inputs_roundtrip(store):
    rid = _run(store).info.run_id
    ds = Dataset("iris", "abc123", "local", '{"uri": "/data/iris.csv"}', '{"cols": 4}')
    store.log_inputs(rid, [DatasetInput(ds, (RunTag("mlflow.data.context", "training"),))])
    store.log_inputs(rid, [DatasetInput(ds, (RunTag("mlflow.data.context", "training"),))])
    inputs = store.get_run(rid).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "iris"
    assert inputs[0].tags == (RunTag("mlflow.data.context", "training"),)


# ---- metrics ----------------------------------------------------------------------------


def test_metric_history_latest_and_retry_without_duplicates(store):
    rid = _run(store).info.run_id
    batch = [Metric("loss", 1.0, 100, 0), Metric("loss", 0.5, 101, 1), Metric("loss", 0.7, 99, 1)]
    store.log_batch(rid, batch)
    store.log_batch(rid, batch)  # a retried request
    store.log_batch(rid, [Metric("loss", 1.0, 100, 0)])
    history = store.get_metric_history(rid, "loss").items
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (0, 100, 1.0),
        (1, 99, 0.7),
        (1, 101, 0.5),
    ]
    latest = store.get_run(rid).data.latest_metrics["loss"]
    # MLflow's latest: greatest (step, timestamp, value).
    assert (latest.step, latest.timestamp, latest.value) == (1, 101, 0.5)
    # An older point does not replace the latest.
    store.log_batch(rid, [Metric("loss", 9.0, 50, 0)])
    assert store.get_run(rid).data.metrics["loss"] == 0.5


def test_nan_and_infinity_roundtrip(store):
    rid = _run(store).info.run_id
    store.log_batch(
        rid,
        [
            Metric("x", float("inf"), 1, 0),
            Metric("x", float("-inf"), 2, 1),
            Metric("x", float("nan"), 3, 2),
        ],
    )
    values = [m.value for m in store.get_metric_history(rid, "x").items]
    assert values[0] == math.inf
    assert values[1] == -math.inf
    assert math.isnan(values[2])
    assert math.isnan(store.get_run(rid).data.metrics["x"])
    store.log_batch(rid, [Metric("x", float("nan"), 3, 2)])  # NaN duplicates are duplicates too
    assert len(store.get_metric_history(rid, "x").items) == 3


def test_long_history_spans_chunks_and_pages(store):
    rid = _run(store).info.run_id
    n = schema.CHUNK_POINTS * 2 + 123
    series = {
        ("acc", None, None, None): Points(
            np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64) + 10, np.arange(n) * 0.5
        )
    }
    store.log_series(rid, {k: v.take(slice(0, 1000)) for k, v in series.items()})
    store.log_series(rid, {k: v.take(slice(1000, None)) for k, v in series.items()})
    points = store.read_points(rid, "acc")
    assert len(points) == n
    assert points.steps.tolist() == list(range(n))
    page = store.get_metric_history(rid, "acc", max_results=5000)
    assert len(page.items) == 5000
    assert page.token
    rest = store.get_metric_history(rid, "acc", max_results=5000, page_token=page.token)
    assert len(rest.items) == n - 5000
    assert rest.token is None
    assert store.get_run(rid).data.latest_metrics["acc"].step == n - 1


def test_downsampled_series_keeps_spikes_and_zooms_to_full_resolution(store):
    rid = _run(store).info.run_id
    n = 100_000
    values = np.zeros(n)
    values[54_321] = 1000.0  # one spike that naive decimation would drop
    store.log_series(rid, {("v", None, None, None): Points(np.arange(n), np.arange(n) + 1, values)})
    series = store.get_metric_series(rid, "v", max_points=500)
    assert len(series.steps) <= 500
    assert series.total_points == n
    assert max(series.maxs) == 1000.0
    zoom = store.get_metric_series(rid, "v", max_points=500, x_min=54_300, x_max=54_400)
    assert zoom.steps == list(range(54_300, 54_401))  # full resolution in the range
    assert zoom.mins is None
    assert 1000.0 in zoom.values


def _chunk_rows(store, run_id, key):
    from sqlalchemy import select

    mc = schema.metric_chunks.c
    with store.engine.connect() as conn:
        return conn.execute(
            select(mc.seq, mc.n_points, mc.model_id)
            .where(mc.run_uuid == run_id, mc.key == key)
            .order_by(mc.seq)
        ).all()


def _series(steps, timestamps, values, key="m", model_id=None):
    return {
        (key, model_id, None, None): Points(
            np.asarray(steps, np.int64), np.asarray(timestamps, np.int64), np.asarray(values, float)
        )
    }


def test_appends_add_small_chunks_and_leave_stored_points_alone(store):
    rid = _run(store).info.run_id
    store.log_series(rid, _series(range(100), range(100), np.arange(100) * 1.0))
    store.log_series(rid, _series(range(100, 150), range(100, 150), np.arange(50) * 1.0))
    # The second batch is a row of its own; the first row is not rewritten (no read-modify-write
    # of the last chunk on every append).
    rows = _chunk_rows(store, rid, "m")
    # Seqs in insertion order (on PostgreSQL drawn from one sequence, so not from 0).
    assert [r.n_points for r in rows] == [100, 50]
    assert rows[0].seq < rows[1].seq
    assert store.read_points(rid, "m").steps.tolist() == list(range(150))
    # A batch that fills a chunk takes the small tail along into full chunks.
    n = schema.CHUNK_POINTS + 500
    store.log_series(rid, _series(range(150, 150 + n), range(150, 150 + n), np.ones(n)))
    assert [r.n_points for r in _chunk_rows(store, rid, "m")] == [schema.CHUNK_POINTS, 650]
    assert store.read_points(rid, "m").steps.tolist() == list(range(150 + n))


def test_compaction_rewrites_each_point_of_steady_batches_once(store, monkeypatch):
    """A training loop's 100-point batches: each point is written by its append and by one
    merge at most (a merged chunk of SETTLED_POINTS or more is left alone), and reads still
    see a few dozen rows."""
    from labtrack.store import metrics
    from labtrack.store.tracking_store import COMPACT_EVERY, SETTLED_POINTS

    rewritten = []
    merge_pieces = metrics._merge_pieces

    def counting(points, at_most):
        rewritten.append(len(points))
        return merge_pieces(points, at_most)

    monkeypatch.setattr(metrics, "_merge_pieces", counting)
    rid = _run(store).info.run_id
    n_batches = COMPACT_EVERY * 6
    for b in range(n_batches):
        steps = range(b * 100, b * 100 + 100)
        store.log_series(rid, _series(steps, steps, np.ones(100)))
    assert len(rewritten) >= 5
    assert sum(rewritten) <= n_batches * 100
    rows = _chunk_rows(store, rid, "m")
    assert len(rows) <= 6 + COMPACT_EVERY
    assert all(r.n_points >= SETTLED_POINTS for r in rows[: len(rows) - COMPACT_EVERY])
    assert store.read_points(rid, "m").steps.tolist() == list(range(n_batches * 100))


def test_each_chunk_row_records_the_bounds_of_its_own_points(store):
    """Reads pick chunks by their min/max step and timestamp, and retries find duplicates by
    them: for batches in step order, out of order, with repeats, and through merges."""
    from sqlalchemy import select

    from labtrack.store.tracking_store import COMPACT_EVERY

    rid = _run(store).info.run_id
    rng = np.random.default_rng(7)
    for b in range(COMPACT_EVERY * 2 + 3):
        base = b * 50
        if b % 3 == 0:  # one point per step, in order; timestamps not in order
            steps = np.arange(base, base + 50)
            stamps = rng.integers(0, 10_000, 50)
        elif b % 3 == 1:  # steps out of order, repeated
            steps = rng.integers(base - 20, base + 50, 50)
            stamps = np.arange(base, base + 50)
        else:  # one step for all
            steps = np.full(50, base)
            stamps = rng.integers(-500, 500, 50)
        store.log_series(rid, _series(steps, stamps, rng.random(50)))
    mc = schema.metric_chunks.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                mc.n_points,
                mc.min_step,
                mc.max_step,
                mc.min_timestamp,
                mc.max_timestamp,
                mc.steps,
                mc.timestamps,
            ).where(mc.run_uuid == rid)
        ).all()
    assert len(rows) > 3
    for n, lo_s, hi_s, lo_t, hi_t, steps_blob, stamps_blob in rows:
        steps, stamps = np.frombuffer(steps_blob, "<i8"), np.frombuffer(stamps_blob, "<i8")
        assert len(steps) == n
        assert (lo_s, hi_s, lo_t, hi_t) == (steps.min(), steps.max(), stamps.min(), stamps.max())


def test_history_pages_carry_each_points_model_and_dataset(store):
    """Labeled and plain points of one key, logged out of step order across batches and
    merged by compaction: every page gives each point its own model and dataset."""
    from labtrack.store.tracking_store import COMPACT_EVERY

    rid = _run(store).info.run_id
    expected = {}
    for b in range(COMPACT_EVERY + 3):
        base = (COMPACT_EVERY + 3 - b) * 10  # later batches, earlier steps
        series = {}
        # Labeled runs of varying length: a label misplaced by the sort cannot line up.
        for label, offset, n in (
            ((None, None, None), 0, 5),
            (("m-1", "train", "d1"), 5, 1 + b % 4),
        ):
            steps = np.arange(base + offset, base + offset + n)
            series[("acc", *label)] = Points(steps, steps + 1000, steps / 7.0)
            expected.update({int(st): label for st in steps})
        store.log_series(rid, series)
    got, token = [], None
    while True:
        page = store.get_metric_history(rid, "acc", max_results=37, page_token=token)
        got += page.items
        token = page.token
        if not token:
            break
    assert [m.step for m in got] == sorted(expected)
    assert {m.step: (m.model_id, m.dataset_name, m.dataset_digest) for m in got} == expected
    assert all(m.timestamp == m.step + 1000 and m.value == m.step / 7.0 for m in got)


def test_small_chunks_are_compacted_keeping_order_ties_and_latest(store):
    from labtrack.store.tracking_store import COMPACT_EVERY

    rid = _run(store).info.run_id
    expected = []
    n_batches = COMPACT_EVERY * 3 + 5
    for b in range(n_batches):
        # Two points per batch share (step, timestamp) with the previous batch's last point:
        # ties must keep insertion order through compaction.
        steps = [b * 10 + i for i in range(10)] + [b * 10 + 9]
        values = [b + i / 100 for i in range(10)] + [-1.0 - b]
        store.log_series(rid, _series(steps, steps, values))
        expected += list(zip(steps, steps, values, strict=True))
    rows = _chunk_rows(store, rid, "m")
    seqs = [r.seq for r in rows]
    assert seqs == sorted(set(seqs))  # distinct, in insertion order
    assert len(rows) <= COMPACT_EVERY + 1
    assert sum(r.n_points for r in rows) == len(expected)
    assert all(r.n_points <= schema.CHUNK_POINTS for r in rows)
    history = store.get_metric_history(rid, "m").items
    expected.sort(key=lambda p: (p[0], p[1]))  # stable: ties in insertion order
    assert [(m.step, m.timestamp, m.value) for m in history] == expected
    latest = store.get_run(rid).data.latest_metrics["m"]
    last_step = (n_batches - 1) * 10 + 9
    assert (latest.step, latest.value) == (last_step, n_batches - 1 + 0.09)
    # A retried batch after compaction is still recognised.
    store.log_series(rid, _series([5, 6], [5, 6], [0.05, 0.06]))
    assert len(store.read_points(rid, "m")) == len(expected)


def _blob_reads(store):
    """Collect the statements that read stored points to find duplicates (chunks picked by
    their timestamp range; compaction reads a key's small tail by seq instead)."""
    from sqlalchemy import event

    reads = []

    def seen(conn, cursor, statement, *args):
        if "metric_chunks.max_timestamp >=" in statement:
            reads.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    return reads


@pytest.mark.parametrize("fixed", ["timestamp", "step"])
def test_appends_with_one_fixed_coordinate_read_no_stored_points(store, fixed):
    """A series logged with one timestamp (or one step) and the other coordinate rising
    cannot hold duplicates of the new points, so appending reads none of its chunks: the
    cost of a batch stays flat however long the series grows."""
    rid = _run(store).info.run_id

    def batch(b):
        rising = list(range(b * 100, b * 100 + 100))
        same = [7] * 100
        steps, stamps = (rising, same) if fixed == "timestamp" else (same, rising)
        return _series(steps, stamps, np.arange(100) * 1.0 + b)

    store.log_series(rid, batch(0))
    reads = _blob_reads(store)
    for b in range(1, 40):
        store.log_series(rid, batch(b))
    assert reads == []
    # A retried batch overlaps in both coordinates: it is read, and recognised.
    store.log_series(rid, batch(5))
    assert reads
    assert len(store.read_points(rid, "m")) == 40 * 100


def test_chunks_of_different_models_are_never_merged(store):
    from labtrack.store.tracking_store import COMPACT_EVERY

    rid = _run(store).info.run_id
    for b in range(COMPACT_EVERY + 3):
        # One batch carries the same key for two logged models (two series, one key).
        batch = _series([b * 2], [b * 2], [1.0], model_id="m-a")
        batch.update(_series([b * 2 + 1], [b * 2 + 1], [2.0], model_id="m-b"))
        store.log_series(rid, batch)
    rows = _chunk_rows(store, rid, "m")
    seqs = [r.seq for r in rows]
    assert seqs == sorted(set(seqs))
    points = store.read_points(rid, "m")
    assert points.steps.tolist() == list(range(2 * (COMPACT_EVERY + 3)))
    assert points.values.tolist() == [1.0, 2.0] * (COMPACT_EVERY + 3)
    by_model = {r.model_id for r in rows}
    assert by_model == {"m-a", "m-b"}


def test_history_pages_over_many_small_chunks(store):
    from labtrack.store.tracking_store import encode_page_token

    rid = _run(store).info.run_id
    n = 0
    sizes = [1, 7, 50, 300, 3, 1000, 2, 999, 64, 17]
    for size in sizes:
        store.log_series(rid, _series(range(n, n + size), range(n, n + size), np.arange(size)))
        n += size
    assert [r.n_points for r in _chunk_rows(store, rid, "m")] == sizes
    full = store.read_points(rid, "m").steps.tolist()
    assert full == list(range(n))
    for limit in (1, 13, 100, 4096, 5000, n):
        got, token = [], None
        while True:
            page = store.get_metric_history(rid, "m", max_results=limit, page_token=token)
            got += [m.step for m in page.items]
            token = page.token
            if token is None:
                break
        assert got == full, limit
    page = store.get_metric_history(rid, "m", max_results=5, page_token=encode_page_token(n + 5))
    assert page.items == []
    assert page.token is None


def test_history_pages_read_only_the_chunks_they_cover(store):
    from sqlalchemy import update

    rid = _run(store).info.run_id
    n = schema.CHUNK_POINTS * 3
    store.log_series(rid, _series(range(n), range(n), np.arange(n) * 1.0))
    # Make the last chunk's points sort first: a reader that loads every chunk would now put
    # them on the first page; one that reads just the chunks a page covers does not.
    mc = schema.metric_chunks.c
    with store.engine.begin() as conn:
        conn.execute(
            update(schema.metric_chunks)
            .where(mc.run_uuid == rid, mc.key == "m", mc.seq == 2)
            .values(steps=np.full(schema.CHUNK_POINTS, -1, np.int64).tobytes())
        )
    page = store.get_metric_history(rid, "m", max_results=10)
    assert [m.step for m in page.items] == list(range(10))


def test_chunk_order_decides_whether_a_page_can_skip_chunks():
    from labtrack.store.metric_chunks import chunks_in_order

    # (min_step, max_step, min_timestamp, max_timestamp) per chunk, in seq order.
    assert chunks_in_order([(0, 9, 100, 109), (10, 19, 50, 60)])  # steps decide
    assert chunks_in_order([(0, 0, 1, 5), (0, 0, 6, 9)])  # all step 0: timestamps decide
    assert not chunks_in_order([(0, 0, 1, 5), (0, 0, 5, 9)])  # a tie could interleave
    assert not chunks_in_order([(0, 10, 1, 5), (5, 20, 6, 9)])  # overlapping steps
    assert chunks_in_order([(3, 3, 3, 3)])


def test_history_pages_with_out_of_order_steps(store):
    rid = _run(store).info.run_id
    # Later batches go back in steps (e.g. a resumed run re-logging), so chunks overlap.
    batches = [range(100, 200), range(0, 50), range(150, 250), range(50, 100)]
    for i, steps in enumerate(batches):
        steps = list(steps)
        store.log_series(rid, _series(steps, [i] * len(steps), [float(i)] * len(steps)))
    assert len(_chunk_rows(store, rid, "m")) == len(batches)  # overlapping chunks, as written
    expected = sorted(
        (s, i) for i, steps in enumerate(batches) for s in steps
    )  # (step, timestamp) order
    got, token = [], None
    while True:
        page = store.get_metric_history(rid, "m", max_results=37, page_token=token)
        got += [(m.step, m.timestamp) for m in page.items]
        if (token := page.token) is None:
            break
    assert got == expected
    assert store.get_run(rid).data.latest_metrics["m"].step == 249


def test_metrics_on_unknown_or_deleted_run(store):
    with pytest.raises(LabtrackException) as err:
        store.log_batch("0" * 32, [Metric("m", 1.0, 1, 0)])
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("path", ["log_series", "log_batch"])
def test_concurrent_first_writers_of_a_series_all_land(store, path):
    """Many threads writing the first points of the same new series at once (the batching
    queue's writer and REST log-batch requests to one run): every point lands once, a chunk
    per batch with distinct seqs, on both backends."""
    import threading

    rid = _run(store).info.run_id
    threads, rounds = 8, 3
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for r in range(rounds):
                key = f"k{r}"  # a new series each round, all threads at once
                steps = [i * 10 + j for j in range(10)]
                barrier.wait()
                if path == "log_series":
                    store.log_series(rid, _series(steps, steps, np.ones(10), key=key))
                else:
                    metrics = [Metric(key, 1.0, s, s) for s in steps]
                    store.log_batch(rid, metrics=metrics)
        except BaseException as exc:  # reported below, from the test's thread
            errors.append(exc)
            barrier.abort()

    workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    for r in range(rounds):
        assert store.read_points(rid, f"k{r}").steps.tolist() == list(range(threads * 10))
        seqs = [row.seq for row in _chunk_rows(store, rid, f"k{r}")]
        assert len(seqs) == threads
        assert seqs == sorted(set(seqs))


# ---- search -----------------------------------------------------------------------------


def test_search_runs_filter_order_and_pages(store):
    eid = store.create_experiment("search")
    ids = []
    for i in range(7):
        rid = _run(store, eid, name=f"run-{i}").info.run_id
        store.log_batch(
            rid,
            [Metric("loss", 1.0 / (i + 1), 1, 0)],
            params=[("lr", str(0.1 * (i % 2)))],
            tags=[("kind", "even" if i % 2 == 0 else "odd")],
        )
        ids.append(rid)
    found = store.search_runs(
        [eid], "metrics.loss < 0.3 and tags.kind = 'even'", order_by=["metrics.loss ASC"]
    )
    assert [r.info.run_name for r in found] == ["run-6", "run-4"]
    page = store.search_runs([eid], "", max_results=3, order_by=["metrics.loss DESC"])
    assert [r.info.run_name for r in page] == ["run-0", "run-1", "run-2"]
    names = [r.info.run_name for r in page]
    token = page.token
    while token:
        nxt = store.search_runs(
            [eid], "", max_results=3, order_by=["metrics.loss DESC"], page_token=token
        )
        names += [r.info.run_name for r in nxt]
        token = nxt.token
    assert names == [f"run-{i}" for i in range(7)]
    store.delete_run(ids[0])
    assert len(store.search_runs([eid])) == 6
    deleted = store.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [ids[0]]


def test_search_pages_through_numbers_nan_and_missing_metric(store):
    """Ordered by a metric, pages cross from numbers to NaN to runs without the metric."""
    eid = store.create_experiment("tiers")
    expected = []
    for i, loss in enumerate([0.5, float("nan"), 0.1, None, 0.3, float("nan"), None, 0.2]):
        rid = _run(store, eid, name=f"run-{i}", start_time=1000 + i).info.run_id
        if loss is not None:
            store.log_batch(rid, [Metric("loss", loss, 1, 0)])
        tier = 2 if loss is None else 1 if math.isnan(loss) else 0
        expected.append((tier, loss, i))
    # Numbers ascending, then NaN, then missing; ties by start_time descending.
    want = [
        f"run-{i}"
        for _, _, i in sorted(expected, key=lambda t: (t[0], t[1] if t[0] == 0 else 0, -t[2]))
    ]
    assert want[:4] == ["run-2", "run-7", "run-4", "run-0"]
    for size in range(1, 10):
        names, token = [], None
        while True:
            page = store.search_runs(
                [eid], "", max_results=size, order_by=["metrics.loss"], page_token=token
            )
            names += [r.info.run_name for r in page]
            token = page.token
            if not token:
                break
        assert names == want, size
    # A filter applies in every tier.
    found = store.search_runs([eid], "attributes.run_name != 'run-5'", order_by=["metrics.loss"])
    assert [r.info.run_name for r in found] == [n for n in want if n != "run-5"]


def test_bad_filter_is_a_clear_400(store):
    with pytest.raises(LabtrackException) as err:
        store.search_runs(["0"], "metrics.loss < 'abc' OR 1=1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException):
        store.search_runs(["0"], "", page_token="not-a-token")


def test_change_feed_reports_writes_in_order(store):
    cursor, nothing = store.changes_since(None)
    assert nothing == []
    rid = _run(store).info.run_id
    store.log_batch(rid, [Metric("m", 1.0, 1, 0)])
    new_cursor, changes = store.changes_since(cursor)
    assert new_cursor > cursor
    assert [c["kind"] for c in changes] == ["run", "data"]
    assert all(c["run_id"] == rid for c in changes)
    assert store.changes_since(new_cursor) == (new_cursor, [])


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """Several scripts starting together on a fresh per-user store must not trip over each
    other while the first one creates the schema."""
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    code = (
        "import sys; from labtrack.store.tracking_store import TrackingStore; "
        "TrackingStore(sys.argv[1]).create_experiment('e' + sys.argv[2])"
    )
    for trial in range(3):
        uri = f"sqlite:///{tmp_path / f'fresh{trial}.db'}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, uri, str(i)],
                env={**__import__("os").environ, "PYTHONPATH": src},
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
        from labtrack.store.tracking_store import TrackingStore

        st = TrackingStore(uri)
        assert {e.name for e in st.search_experiments()} == {"Default", "e0", "e1", "e2", "e3"}
        st.dispose()


def test_metric_values_keep_full_double_precision_in_run_data(store):
    rid = _run(store).info.run_id
    values = {
        "a": 0.1 + 0.2,
        "b": 1 / 3,
        "c": 1e-310,
        "d": -1.2345678901234567e300,
        "e": float("inf"),
        "f": float("-inf"),
    }
    store.log_batch(rid, [Metric(k, v, 1, 0) for k, v in values.items()])
    got = store.get_run(rid).data.metrics
    assert got == values
    found = store.search_runs(["0"], "metrics.a > 0.3")
    assert [r.info.run_id for r in found] == [rid]
    assert found[0].data.metrics["b"] == 1 / 3


def test_logged_model_search_compiles_parsed_filters(store):
    """Logged-model filters go through the search grammar and compiler: attributes, tags and
    params (a model without the key matches no clause on it), on both backends."""
    from labtrack.store.logged_model_store import LoggedModelStore
    from labtrack.store.search.parser import parse_filter

    eid = store.create_experiment("lm-search")
    models = LoggedModelStore(store)
    a = models.create(eid, "Alpha", "clf", tags={"team": "x"}, params={"lr": "0.1"}).model_id
    b = models.create(eid, "beta", tags={"team": "y"}).model_id
    c = models.create(eid, "gamma").model_id

    def found(text):
        page = models.search([eid], parse_filter(text, "logged_model"), max_results=10)
        return {m.model_id for m in page}

    assert found("name = 'Alpha'") == {a}
    assert found("name LIKE 'a%'") == set()
    assert found("name ILIKE 'a%'") == {a}
    assert found("name IN ('beta', 'gamma')") == {b, c}
    assert found("name > 'b'") == {b, c}
    assert found("model_type = 'clf'") == {a}
    assert found(f"experiment_id = {eid} AND creation_time > 0") == {a, b, c}
    assert found("tags.team != 'x'") == {b}
    assert found("tags.team LIKE '%'") == {a, b}
    assert found("params.lr = '0.1'") == {a}
    assert found("params.lr NOT IN ('0.2')") == {a}


# ---- run summaries ----------------------------------------------------------------------


def _data_in_tables(store, run_id):
    """The run's params, tags and latest metrics read from their own tables."""
    from labtrack.store.summaries import summary_from_tables

    with store.engine.connect() as conn:
        return summary_from_tables(conn, run_id)


def _same_metrics(metrics, points):
    """``Metric`` objects against ``key -> [value, timestamp, step]`` from the tables."""
    assert metrics.keys() == points.keys()
    for key, m in metrics.items():
        value, timestamp, step = points[key]
        assert (m.step, m.timestamp) == (step, timestamp), key
        assert m.value == value or (math.isnan(m.value) and math.isnan(value)), key


def test_run_summary_follows_every_write_path(store):
    """Runs are loaded from a per-run summary document: after each kind of write it must say
    exactly what the params, tags and latest-metrics tables say."""
    from labtrack.store.logged_model_store import LoggedModelStore

    eid = store.create_experiment("summary")
    rid = _run(store, eid, name="first", tags={"owner": "ann"}).info.run_id

    def check():
        run = store.get_run(rid)
        params, tags, metrics = _data_in_tables(store, rid)
        assert run.data.params == params
        assert run.data.tags == tags
        _same_metrics(run.data.latest_metrics, metrics)
        (found,) = store.search_runs([eid], "", order_by=["metrics.acc DESC"])
        assert (found.data.params, found.data.tags) == (params, tags)
        _same_metrics(found.data.latest_metrics, metrics)
        # REST answers splice the run's stored wire document: byte for byte the general path.
        (encoded,), _ = store.search_runs_json([eid], "", order_by=["metrics.acc DESC"])
        assert encoded == _encoded(run)
        return run

    assert check().data.tags["owner"] == "ann"
    store.log_batch(
        rid,
        [
            Metric("acc", 0.1 + 0.2, 5, 1),
            Metric("loss", float("nan"), 5, 1),
            Metric("up", float("inf"), 5, 1),
            Metric("down", float("-inf"), 5, 1),
        ],
        params=[("lr", "0.01")],
        tags=[("stage", "a")],
    )
    run = check()
    assert run.data.metrics["acc"] == 0.30000000000000004  # exact, not rounded
    assert math.isnan(run.data.metrics["loss"])
    assert run.data.metrics["up"] == float("inf")
    assert run.data.metrics["down"] == float("-inf")
    store.log_batch(rid, params=[("batch", "32")])
    assert check().data.params == {"lr": "0.01", "batch": "32"}
    store.set_tag(rid, "stage", "b")
    assert check().data.tags["stage"] == "b"
    store.delete_tag(rid, "owner")
    assert "owner" not in check().data.tags
    store.update_run_info(rid, None, None, "renamed")
    assert check().data.tags["mlflow.runName"] == "renamed"
    # An older step does not replace the latest value; a newer one does.
    store.log_series(rid, {("acc", None, None, None): Points.from_tuples([(0, 9, 0.5)])})
    assert check().data.metrics["acc"] == 0.30000000000000004
    store.log_series(rid, {("acc", None, None, None): Points.from_tuples([(7, 9, 0.75)])})
    assert check().data.metrics["acc"] == 0.75
    LoggedModelStore(store).append_log_model_history(rid, {"artifact_path": "m"}, 5000)
    assert "mlflow.log-model.history" in check().data.tags
    store.update_run_info(rid, "FINISHED", 12345, None)
    assert check().info.end_time == 12345
    # A write that fails leaves the summary as it was.
    with pytest.raises(LabtrackException):
        store.log_batch(rid, params=[("lr", "changed")], tags=[("stage", "c")])
    assert check().data.tags["stage"] == "b"


def _encoded(run):
    import orjson

    from labtrack.entities.wire import run_to_json

    return orjson.dumps(run_to_json(run))


def _run_json(store, run_id):
    with store.engine.connect() as conn:
        return conn.execute(
            schema.runs.select()
            .with_only_columns(schema.runs.c.run_json)
            .where(schema.runs.c.run_uuid == run_id)
        ).scalar_one()


def test_search_json_of_runs_from_revision_0001_and_runs_with_inputs(tmp_path):
    """A store written before revision 0002 has no wire documents: opening it upgrades the
    schema, its runs are answered by the general path (same bytes) until their next write,
    and runs with dataset inputs always take the general path."""
    from sqlalchemy import text

    from labtrack.store.tracking_store import TrackingStore

    uri = f"sqlite:///{tmp_path / 'old.db'}"
    st = TrackingStore(uri, str(tmp_path / "art"))
    eid = st.create_experiment("old")
    old = st.create_run(eid, "ann", 1, {"mlflow.runName": "old"}, "old").info.run_id
    st.log_batch(old, [Metric("acc", float("nan"), 5, 1)], params=[("lr", "0.1")])
    with_io = st.create_run(eid, "ann", 2, {}, "io").info.run_id
    st.log_batch(with_io, [Metric("acc", 0.5, 5, 1)])
    ds = Dataset("iris", "abc123", "local", '{"uri": "/data/iris.csv"}')
    st.log_inputs(with_io, [DatasetInput(ds, (RunTag("mlflow.data.context", "train"),))])
    # Back to what revision 0001 left: no run_json column (nor the later revisions' columns).
    with st.engine.begin() as conn:
        conn.execute(text("DROP TABLE logged_model_metrics"))
        conn.execute(text("DROP TABLE run_model_inputs"))
        conn.execute(text("ALTER TABLE runs DROP COLUMN run_json"))
        conn.execute(text("ALTER TABLE metric_chunks DROP COLUMN settled"))
        conn.execute(text("ALTER TABLE runs DROP COLUMN heartbeat_time"))
        conn.execute(text("DROP TABLE permissions"))  # revision 0006's
        conn.execute(text("DROP TABLE hub_group_roles"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    st.dispose()

    st = TrackingStore(uri)
    assert _run_json(st, old) is None
    encoded, token = st.search_runs_json([eid], "", order_by=["start_time ASC"])
    assert token is None
    assert encoded == [_encoded(st.get_run(old)), _encoded(st.get_run(with_io))]
    assert b'"name":"iris"' in encoded[1]
    st.set_tag(old, "stage", "b")
    assert _run_json(st, old) is not None
    (first, _), _ = st.search_runs_json([eid], "", order_by=["start_time ASC"])
    assert first == _encoded(st.get_run(old))
    assert b'"key":"stage","value":"b"' in first
    assert b'"value":"NaN"' in first
    st.dispose()


@pytest.mark.parametrize("io", ["inputs", "outputs"])
def test_search_json_of_runs_with_inputs_or_outputs(store, io):
    """Dataset inputs and model outputs are part of a run's JSON: once a run has them, its
    search JSON is the general path's, not its wire document of params, tags and metrics."""
    from labtrack.store.logged_model_store import LoggedModelStore

    eid = store.create_experiment(f"with-{io}")
    rid = _run(store, eid).info.run_id
    store.log_batch(rid, [Metric("acc", 0.5, 5, 1)], params=[("lr", "1")])
    if io == "inputs":
        ds = Dataset("iris", "abc123", "local", '{"uri": "/data/iris.csv"}')
        store.log_inputs(rid, [DatasetInput(ds, (RunTag("mlflow.data.context", "train"),))])
    else:
        models = LoggedModelStore(store)
        models.log_outputs(rid, [(models.create(eid, "clf", source_run_id=rid).model_id, 3)])
    (encoded,), _ = store.search_runs_json([eid])
    assert encoded == _encoded(store.get_run(rid))
    assert (b'"name":"iris"' if io == "inputs" else b'"model_outputs"') in encoded


def test_search_json_follows_run_and_experiment_lifecycle(store):
    """A run's stored JSON shows its lifecycle stage: after deleting or restoring the run,
    or its whole experiment, search answers what the general path answers."""
    eid = store.create_experiment("lifecycle")
    rid = _run(store, eid).info.run_id
    store.log_batch(rid, [Metric("acc", 0.5, 5, 1)])

    def same(view):
        (encoded,), _ = store.search_runs_json([eid], run_view_type=view)
        assert encoded == _encoded(store.get_run(rid))
        return encoded

    assert b'"lifecycle_stage":"active"' in same(ViewType.ACTIVE_ONLY)
    store.delete_run(rid)
    assert b'"lifecycle_stage":"deleted"' in same(ViewType.DELETED_ONLY)
    store.restore_run(rid)
    assert b'"lifecycle_stage":"active"' in same(ViewType.ACTIVE_ONLY)
    store.delete_experiment(eid)
    assert b'"lifecycle_stage":"deleted"' in same(ViewType.ALL)
    store.restore_experiment(eid)
    assert b'"lifecycle_stage":"active"' in same(ViewType.ALL)
    store.log_batch(rid, [Metric("acc", 0.75, 6, 2)])  # the next write stores it again
    assert _run_json(store, rid) is not None
    assert b'"value":0.75' in same(ViewType.ACTIVE_ONLY)


def test_run_without_summary_is_read_from_its_tables(store):
    eid = store.create_experiment("no-summary")
    rid = _run(store, eid, name="legacy").info.run_id
    store.log_batch(rid, [Metric("acc", 0.5, 1, 2)], params=[("lr", "1")])
    with store.engine.begin() as conn:
        conn.execute(schema.runs.update().where(schema.runs.c.run_uuid == rid).values(summary=None))
    run = store.get_run(rid)
    assert run.data.params == {"lr": "1"}
    assert run.data.metrics["acc"] == 0.5
    assert run.data.latest_metrics["acc"].step == 2
    assert run.data.tags["mlflow.runName"] == "legacy"


# ---- many writers of one run ------------------------------------------------------------


def test_interleaved_writers_read_few_stored_points_to_find_duplicates(store, monkeypatch):
    """16 writers appending disjoint step ranges of one metric, interleaved (distributed
    training): a batch looks for duplicates only in chunks near its own steps. Merges used to
    mix every writer's range into chunks spanning all of them, so each batch read the whole
    history (the cost of a batch grew with the run: 30 ms, then 360 ms per batch)."""
    from labtrack.entities.points import Points as P

    rid = _run(store).info.run_id
    writers, batches = 16, 40

    def round_(b: int) -> None:
        for w in range(writers):
            first = (w * 1000 + b) * 100
            steps = range(first, first + 100)
            store.log_series(rid, _series(steps, [7] * 100, np.ones(100)))

    for b in range(batches):
        round_(b)
    read: list[int] = []
    without = P.without

    def counting(self, existing):
        read.append(len(existing))
        return without(self, existing)

    monkeypatch.setattr(P, "without", counting)
    round_(batches)
    assert max(read, default=0) <= schema.CHUNK_POINTS, read
    assert len(store.read_points(rid, "m")) == writers * (batches + 1) * 100


def _pg_only(store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns (BEGIN IMMEDIATE)")


def test_metric_appends_to_one_run_do_not_wait_for_each_other(store):
    """PostgreSQL: a batch of a run's metric is stored while another writer's transaction on
    the same run and key is still open (it used to wait for that transaction's end: every
    write locked the run row)."""
    import threading

    from labtrack.store.metrics import write_series
    from labtrack.store.runs import require_active_run

    _pg_only(store)
    rid = _run(store).info.run_id
    store.log_series(rid, _series(range(1000, 1100), range(1000, 1100), np.ones(100)))
    done = threading.Event()
    with store.db.write() as conn:
        eid = require_active_run(conn, rid, shared=True)
        write_series(conn, rid, eid, _series(range(100), range(100), np.ones(100)))

        def other() -> None:
            store.log_series(rid, _series(range(100, 200), range(100, 200), np.ones(100)))
            done.set()

        t = threading.Thread(target=other)
        t.start()
        assert done.wait(10), "the second writer waited for the first one's transaction"
    t.join()
    assert len(store.read_points(rid, "m")) == 300


def test_a_run_deleted_while_a_write_is_in_flight_refuses_later_writes(store):
    """PostgreSQL: deleting a run waits for the metric writes in flight (they land), and
    writes after it are refused, although appends no longer lock the run row exclusively."""
    import threading

    from labtrack.store.metrics import write_series
    from labtrack.store.runs import require_active_run

    _pg_only(store)
    rid = _run(store).info.run_id
    deleted = threading.Event()
    with store.db.write() as conn:
        eid = require_active_run(conn, rid, shared=True)
        write_series(conn, rid, eid, _series(range(100), range(100), np.ones(100)))
        t = threading.Thread(target=lambda: (store.delete_run(rid), deleted.set()))
        t.start()
        assert not deleted.wait(1), "the deletion did not wait for the write in flight"
    t.join(10)
    assert deleted.is_set()
    with pytest.raises(LabtrackException) as err:
        store.log_series(rid, _series([500], [500], [1.0]))
    assert "must be in the 'active' state" in err.value.message
    assert len(store.read_points(rid, "m")) == 100


def test_upgrading_to_0004_keeps_chunks_in_order_and_settles_big_ones(store_uri, tmp_path):
    """A store written before revision 0004: chunks of 1,024+ points become settled, and new
    chunks sort after the stored ones (PostgreSQL's sequence starts past them)."""
    from sqlalchemy import text

    from labtrack.store.tracking_store import TrackingStore

    st = TrackingStore(store_uri, str(tmp_path / "artifacts"))
    rid = _run(st).info.run_id
    st.log_series(rid, _series(range(2000), range(2000), np.ones(2000)))
    st.log_series(rid, _series(range(2000, 2100), range(2000, 2100), np.ones(100)))
    with st.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SEQUENCE metric_chunk_seq"))
        conn.execute(text("ALTER TABLE metric_chunks DROP COLUMN settled"))
        conn.execute(text("ALTER TABLE runs DROP COLUMN heartbeat_time"))
        conn.execute(text("DROP TABLE permissions"))
        conn.execute(text("DROP TABLE hub_group_roles"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    st.dispose()

    st = TrackingStore(store_uri, str(tmp_path / "artifacts"))
    try:
        with st.engine.connect() as conn:
            settled = conn.execute(
                text("SELECT n_points, settled FROM metric_chunks ORDER BY seq")
            ).all()
        assert [(n, bool(s)) for n, s in settled] == [(2000, True), (100, False)]
        st.log_series(rid, _series(range(2100, 2200), range(2100, 2200), np.ones(100)))
        rows = _chunk_rows(st, rid, "m")
        assert [r.n_points for r in rows] == [2000, 100, 100]
        assert st.read_points(rid, "m").steps.tolist() == list(range(2200))
    finally:
        st.dispose()


def test_the_search_statement_cache_is_bounded_by_what_it_holds(tmp_path):
    """Each distinct search is cached (a new literal is a new entry); entries used to be
    bounded only by count (256), and one 100-condition search held ~1.35 MB: distinct literals
    alone could pin ~345 MB. The cache is also bounded by the filter characters it holds."""
    from labtrack.store import run_search
    from labtrack.store.tracking_store import TrackingStore

    # One backend is enough: the cache holds statements before any dialect compiles them.
    store = TrackingStore(f"sqlite:///{tmp_path / 'db'}", str(tmp_path / "artifacts"))
    cache = run_search._statement_cache
    run_id = store.create_run("0", "u", 1, {}, "r").info.run_id
    store.log_batch(run_id, params=[("p0", "v0-0")])
    for k in range(20):
        found = store.search_runs(
            ["0"], " and ".join(f"params.p{i} = 'v{k}-{i}'" for i in range(100))
        )
        assert [r.info.run_id for r in found] == []
        assert cache.chars <= run_search.CACHE_FILTER_CHARS
    assert len(cache) < 15
    # Short searches stay cached: the same one again is answered from the cache.
    assert [r.info.run_id for r in store.search_runs(["0"], "params.p0 = 'v0-0'")] == [run_id]
    size = len(cache)
    assert [r.info.run_id for r in store.search_runs(["0"], "params.p0 = 'v0-0'")] == [run_id]
    assert len(cache) == size
    store.dispose()
