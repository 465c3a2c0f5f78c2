"""Search clauses compiled to SQL, run against real SQLite and PostgreSQL databases.

PostgreSQL: a uniquely named database is created on the local server for the session and
dropped afterwards (URL from LABTRACK_TEST_POSTGRES_URL, default the local trust-auth server).
The PostgreSQL half is skipped, with the reason, only when the server is unreachable.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, func, insert, inspect, select, text
from sqlalchemy.engine import make_url

from labtrack.errors import LabtrackException
from labtrack.store import schema
from labtrack.store.search import sql as search

PG_URL = os.environ.get(
    "LABTRACK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# ---------------------------------------------------------------------------------------------
# Backends


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("search") / "search.db"
    engine = create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        conn = admin.connect()
    except Exception as err:  # pragma: no cover - depends on the machine
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {err}")
    # A generated name (hex only), so building the DDL from it is safe.
    name = f"labtrack_search_{uuid.uuid4().hex[:16]}"
    conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(PG_URL).set(database=name))
    try:
        schema.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.close()
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    eng: Engine = request.getfixturevalue(f"{request.param}_engine")
    with eng.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(
            insert(schema.experiments),
            [{"experiment_id": 1, "name": "exp", "artifact_location": "/tmp/a"}],
        )
    return eng


# ---------------------------------------------------------------------------------------------
# Data helpers


def add_run(
    engine: Engine,
    run_id: str,
    *,
    name: str = "",
    status: str = "FINISHED",
    user_id: str = "ana",
    start_time: int | None = 0,
    end_time: int | None = None,
    lifecycle_stage: str = "active",
    artifact_uri: str = "file:///tmp/x",
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
) -> None:
    is_pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(
            insert(schema.runs),
            [
                {
                    "run_uuid": run_id,
                    "name": name,
                    "experiment_id": 1,
                    "user_id": user_id,
                    "status": status,
                    "start_time": start_time,
                    "end_time": end_time,
                    "lifecycle_stage": lifecycle_stage,
                    "artifact_uri": artifact_uri,
                }
            ],
        )
        if params:
            conn.execute(
                insert(schema.params),
                [{"run_uuid": run_id, "key": k, "value": v} for k, v in params.items()],
            )
        if tags:
            conn.execute(
                insert(schema.tags),
                [{"run_uuid": run_id, "key": k, "value": v} for k, v in tags.items()],
            )
        if metrics:
            rows = []
            for k, v in metrics.items():
                nan = v != v
                # SQLite cannot hold NaN (it becomes NULL); PostgreSQL can. Either way the
                # is_nan flag is what search looks at.
                value = v if (is_pg or not nan) else 0.0
                rows.append(
                    {
                        "run_uuid": run_id,
                        "key": k,
                        "value": value,
                        "timestamp": 0,
                        "step": 0,
                        "is_nan": nan,
                        "experiment_id": 1,
                    }
                )
            conn.execute(insert(schema.latest_metrics), rows)


def add_dataset(
    engine: Engine, run_id: str, dataset_id: str, name: str, digest: str, context: str | None
) -> None:
    with engine.begin() as conn:
        exists = conn.execute(
            select(schema.datasets.c.dataset_uuid).where(
                schema.datasets.c.dataset_uuid == dataset_id
            )
        ).first()
        if not exists:
            conn.execute(
                insert(schema.datasets),
                [
                    {
                        "dataset_uuid": dataset_id,
                        "experiment_id": 1,
                        "name": name,
                        "digest": digest,
                        "source_type": "local",
                        "source": "{}",
                    }
                ],
            )
        conn.execute(insert(schema.run_inputs), [{"run_uuid": run_id, "dataset_uuid": dataset_id}])
        if context is not None:
            conn.execute(
                insert(schema.run_input_tags),
                [
                    {
                        "run_uuid": run_id,
                        "dataset_uuid": dataset_id,
                        "key": "mlflow.data.context",
                        "value": context,
                    }
                ],
            )


def runs_matching(engine: Engine, filter_string: str | None) -> set[str]:
    stmt = select(schema.runs.c.run_uuid).where(*search.run_filter_clauses(filter_string))
    with engine.connect() as conn:
        return set(conn.scalars(stmt))


def run_order(engine: Engine, order_by: list[str] | None, filter_string: str = "") -> list[str]:
    """The order as one statement, checked against the tiered statements the store pages."""
    where = search.run_filter_clauses(filter_string)
    stmt = search.apply_run_order(select(schema.runs.c.run_uuid).where(*where), order_by)
    with engine.connect() as conn:
        whole = list(conn.scalars(stmt))
        tiers = [
            r
            for tier in search.run_search_statements([1], filter_string, order_by)
            for r in conn.scalars(tier)
        ]
    assert tiers == whole
    return whole


# ---------------------------------------------------------------------------------------------
# Metrics


@pytest.fixture
def metric_runs(engine: Engine) -> Engine:
    add_run(engine, "a", metrics={"acc": 0.9, "loss": -1.5})
    add_run(engine, "b", metrics={"acc": 0.5})
    add_run(engine, "c", metrics={"acc": float("nan")})
    add_run(engine, "d", metrics={"loss": 3e10})
    add_run(engine, "e", metrics={"acc": float("inf")})
    return engine


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.6", {"a", "e"}),
        ("metrics.acc >= 0.5", {"a", "b", "e"}),
        ("metrics.acc < 1", {"a", "b"}),
        ("metrics.acc <= 0.5", {"b"}),
        ("metrics.acc = 0.5", {"b"}),
        ("metrics.acc = 5e-1", {"b"}),
        ("metrics.acc != 0.5", {"a", "c", "e"}),  # NaN differs; runs without acc don't match
        ("metrics.acc > -1e308", {"a", "b", "e"}),  # NaN never matches an ordering comparison
        ("metrics.acc < 1e400", {"a", "b"}),  # 1e400 is +inf
        ("metrics.loss < -1", {"a"}),
        ("metrics.loss > 2.9e10", {"d"}),
        ("metric.acc > 0.6 and metrics.loss < 0", {"a"}),
        ("metrics.missing > 0", set()),
        ("metrics.acc > 0 and metrics.acc < 0.7", {"b"}),
    ],
)
def test_metric_comparisons(metric_runs: Engine, filter_string: str, expected: set[str]) -> None:
    assert runs_matching(metric_runs, filter_string) == expected


def test_nan_never_equals(metric_runs: Engine) -> None:
    # SQLite stores 0.0 under a NaN flag: a search for 0 must not find the NaN run.
    assert runs_matching(metric_runs, "metrics.acc = 0") == set()
    assert runs_matching(metric_runs, "metrics.acc <= 0") == set()


# ---------------------------------------------------------------------------------------------
# Params and tags


@pytest.fixture
def param_runs(engine: Engine) -> Engine:
    add_run(engine, "r1", params={"opt": "Adam", "lr": "0.01", "a b": "x"}, tags={"t": "v"})
    add_run(engine, "r2", params={"opt": "adam", "lr": "0.1"})
    add_run(engine, "r3", params={"opt": "sgd"}, tags={"mlflow.user": "ana", "t": "w"})
    add_run(engine, "r4")
    return engine


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.opt = 'adam'", {"r2"}),
        ("params.opt = 'ADAM'", set()),
        ("params.opt != 'adam'", {"r1", "r3"}),  # runs without the param don't match
        ("params.opt LIKE 'a%'", {"r2"}),  # LIKE is case-sensitive on both backends
        ("params.opt LIKE 'A%'", {"r1"}),
        ("params.opt LIKE '%dam'", {"r1", "r2"}),
        ("params.opt LIKE '_dam'", {"r1", "r2"}),
        ("params.opt LIKE 'adam'", {"r2"}),
        ("params.opt ILIKE 'ADAM'", {"r1", "r2"}),
        ("params.opt ILIKE '%D%'", {"r1", "r2", "r3"}),
        ("params.opt IN ('adam', 'sgd')", {"r2", "r3"}),
        ("params.opt NOT IN ('adam', 'sgd')", {"r1"}),
        ("params.opt IS NULL", {"r4"}),
        ("params.opt IS NOT NULL", {"r1", "r2", "r3"}),
        ("params.lr IS NULL", {"r3", "r4"}),
        ("params.lr = '0.01' and params.opt = 'Adam'", {"r1"}),
        ("params.lr = '0.01' and params.opt = 'adam'", set()),
        ("params.\"a b\" = 'x'", {"r1"}),
        ("params.`a b` = 'x'", {"r1"}),
        ("tags.`mlflow.user` = 'ana'", {"r3"}),
        ('tags."mlflow.user" = "ana"', {"r3"}),
        ("tags.mlflow.user = 'ana'", {"r3"}),
        ("tags.t != 'v'", {"r3"}),
        ("tags.t IS NULL", {"r2", "r4"}),
        ("tag.t LIKE '%'", {"r1", "r3"}),
        ("params.opt = 'adam' and tags.t IS NULL", {"r2"}),
    ],
)
def test_param_and_tag_filters(param_runs: Engine, filter_string: str, expected: set[str]) -> None:
    assert runs_matching(param_runs, filter_string) == expected


def test_empty_filter_matches_all(param_runs: Engine) -> None:
    assert runs_matching(param_runs, None) == {"r1", "r2", "r3", "r4"}
    assert runs_matching(param_runs, "  ") == {"r1", "r2", "r3", "r4"}
    assert search.run_filter_clauses("") == []


# LIKE special characters, checked against a reference implementation of LIKE ... ESCAPE '\'.

LIKE_VALUES = [
    "abc",
    "ABC",
    "a_c",
    "a%c",
    "a*c",
    "a?c",
    "a[b]c",
    "a]c",
    "a\\c",
    "",
    "Ünïcode",
    "ünïcode",
    "a.c",
    "a\nc",
    "xa*cx",
]
LIKE_PATTERNS = [
    "a_c",
    "a%",
    "%c",
    "A%",
    "a\\_c",
    "a\\%c",
    "a*c",
    "a?c",
    "a[b]c",
    "a[%",
    "%]%",
    "a\\\\c",
    "%",
    "_",
    "",
    "Ü%",
    "ü%",
    "a.c",
    "%*%",
    "a\\*c",
    "__c",
    "a%%c",
]


def reference_like(value: str, pattern: str, ignore_case: bool = False) -> bool:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch("".join(out), value, flags) is not None


def test_like_matches_reference_semantics(engine: Engine) -> None:
    for i, value in enumerate(LIKE_VALUES):
        add_run(engine, f"v{i:02d}", params={"p": value})
    for pattern in LIKE_PATTERNS:
        literal = pattern.replace("\\", "\\\\").replace("'", "\\'")
        got = runs_matching(engine, f"params.p LIKE '{literal}'")
        want = {f"v{i:02d}" for i, v in enumerate(LIKE_VALUES) if reference_like(v, pattern)}
        assert got == want, pattern


def test_ilike_ascii_case_insensitive(engine: Engine) -> None:
    for i, value in enumerate(LIKE_VALUES):
        add_run(engine, f"v{i:02d}", params={"p": value})
    for pattern in ["a_c", "abc", "A%", "a\\%c", "%*%", "a[b]c", "a?c"]:
        literal = pattern.replace("\\", "\\\\")
        got = runs_matching(engine, f"params.p ILIKE '{literal}'")
        want = {
            f"v{i:02d}"
            for i, v in enumerate(LIKE_VALUES)
            if reference_like(v, pattern, ignore_case=True)
        }
        assert got == want, pattern


def test_like_statement_cache_keeps_each_pattern(engine: Engine) -> None:
    """The custom LIKE construct is cacheable; a cached statement must not reuse values."""
    add_run(engine, "r1", params={"p": "abc"})
    add_run(engine, "r2", params={"p": "xyz"})
    for _ in range(3):
        assert runs_matching(engine, "params.p LIKE 'a%'") == {"r1"}
        assert runs_matching(engine, "params.p LIKE 'x%'") == {"r2"}
        assert runs_matching(engine, "params.p LIKE 'A%'") == set()


def test_like_to_glob_translation() -> None:
    assert search.like_to_glob("a%b_c") == "a*b?c"
    assert search.like_to_glob("*?[]") == "[*][?][[]]"
    assert search.like_to_glob("\\%\\_\\\\x") == "%_\\x"


# ---------------------------------------------------------------------------------------------
# Attributes


@pytest.fixture
def attribute_runs(engine: Engine) -> Engine:
    add_run(engine, "aaa", name="Train-1", status="FINISHED", start_time=100, end_time=200)
    add_run(engine, "bbb", name="train-2", status="RUNNING", start_time=300, user_id="bob")
    add_run(
        engine,
        "ccc",
        name="eval",
        status="FAILED",
        start_time=200,
        end_time=250,
        lifecycle_stage="deleted",
        artifact_uri="s3://bucket/ccc",
    )
    return engine


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("run_name = 'eval'", {"ccc"}),
        ("attributes.run_name LIKE 'train%'", {"bbb"}),
        ("attributes.run_name ILIKE 'train%'", {"aaa", "bbb"}),
        ("run_name IN ('eval', 'train-2')", {"bbb", "ccc"}),
        ("run_name NOT IN ('eval')", {"aaa", "bbb"}),
        ("status = 'RUNNING'", {"bbb"}),
        ("attribute.status != 'RUNNING'", {"aaa", "ccc"}),
        ("status IN ('FINISHED', 'FAILED')", {"aaa", "ccc"}),
        ("user_id = 'bob'", {"bbb"}),
        ("attr.artifact_uri LIKE 's3://%'", {"ccc"}),
        ("lifecycle_stage = 'deleted'", {"ccc"}),
        ("run_id = 'aaa'", {"aaa"}),
        ("run.run_id IN ('aaa', 'ccc', 'zzz')", {"aaa", "ccc"}),
        ("attributes.run_id NOT IN ('aaa')", {"bbb", "ccc"}),
        ("run_id != 'aaa'", {"bbb", "ccc"}),
        ("start_time > 150", {"bbb", "ccc"}),
        ("attributes.start_time <= 200", {"aaa", "ccc"}),
        ("created >= 300", {"bbb"}),
        ("end_time < 1e3", {"aaa", "ccc"}),
        ("end_time = 200", {"aaa"}),
        ("start_time > 100 and status != 'FAILED' and run_name ILIKE 'TRAIN%'", {"bbb"}),
    ],
)
def test_attribute_filters(attribute_runs: Engine, filter_string: str, expected: set[str]) -> None:
    assert runs_matching(attribute_runs, filter_string) == expected


# ---------------------------------------------------------------------------------------------
# Datasets


@pytest.fixture
def dataset_runs(engine: Engine) -> Engine:
    add_run(engine, "r1")
    add_run(engine, "r2")
    add_run(engine, "r3")
    add_dataset(engine, "r1", "d1", "iris", "aaaa", "training")
    add_dataset(engine, "r1", "d2", "wine", "bbbb", "eval")
    add_dataset(engine, "r2", "d2", "wine", "bbbb", "training")
    add_dataset(engine, "r3", "d3", "Iris", "cccc", None)
    return engine


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("datasets.name = 'iris'", {"r1"}),
        ("datasets.name ILIKE 'iris'", {"r1", "r3"}),
        ("dataset.digest IN ('bbbb', 'cccc')", {"r1", "r2", "r3"}),
        ("datasets.context = 'training'", {"r1", "r2"}),
        ("datasets.context != 'training'", {"r1"}),
        # All dataset clauses hold for the same dataset: r1's wine is used for eval only.
        ("datasets.name = 'wine' and datasets.context = 'training'", {"r2"}),
        ("datasets.name = 'wine' and datasets.context = 'eval'", {"r1"}),
        ("datasets.name = 'iris' and datasets.digest = 'bbbb'", set()),
        # The dashboard's "Runs with this dataset" filter (singular prefix, name and digest).
        ("dataset.name = 'wine' and dataset.digest = 'bbbb'", {"r1", "r2"}),
    ],
)
def test_dataset_filters(dataset_runs: Engine, filter_string: str, expected: set[str]) -> None:
    assert runs_matching(dataset_runs, filter_string) == expected


# ---------------------------------------------------------------------------------------------
# Injection attempts: plain values or rejected; the tables survive


INJECTIONS = [
    "x'; DROP TABLE runs; --",
    "' OR '1'='1",
    'x"; DROP TABLE params; --',
    "'); DELETE FROM runs; --",
    "%' OR 1=1 --",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_values_are_plain_values(engine: Engine, payload: str) -> None:
    add_run(engine, "victim", params={"p": payload}, tags={"t": "x"})
    add_run(engine, "other", params={"p": "x"})
    literal = payload.replace("\\", "\\\\").replace("'", "''")
    assert runs_matching(engine, f"params.p = '{literal}'") == {"victim"}
    assert runs_matching(engine, f"params.p LIKE '{literal}'") == {"victim"}
    assert runs_matching(engine, f"tags.`{payload.replace('`', '')}` = 'x'") == set()
    assert inspect(engine).has_table("runs")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.runs)) == 2


@pytest.mark.parametrize(
    "filter_string",
    [
        "params.p = 'x'; DROP TABLE runs",
        "params.p = '' OR 1=1 --",
        "params.p = 'x' OR '1'='1'",
        "1=1",
        "params.p = 'x' UNION SELECT * FROM runs",
        "params.p = 'x' --",
        "params.p = (SELECT value FROM params)",
    ],
)
def test_injection_filters_are_rejected(engine: Engine, filter_string: str) -> None:
    add_run(engine, "r1", params={"p": "x"})
    with pytest.raises(LabtrackException) as info:
        search.run_filter_clauses(filter_string)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert inspect(engine).has_table("runs")
    assert runs_matching(engine, None) == {"r1"}


def test_injection_in_order_by_is_rejected(engine: Engine) -> None:
    with pytest.raises(LabtrackException):
        search.apply_run_order(select(schema.runs.c.run_uuid), ["start_time; DROP TABLE runs"])
    add_run(engine, "r1", params={"x'; DROP TABLE runs; --": "1"})
    assert run_order(engine, ["params.`x'; DROP TABLE runs; --` DESC"]) == ["r1"]
    assert inspect(engine).has_table("runs")


# ---------------------------------------------------------------------------------------------
# Ordering


@pytest.fixture
def order_runs(engine: Engine) -> Engine:
    add_run(
        engine,
        "r1",
        start_time=10,
        end_time=None,
        name="b",
        metrics={"acc": 0.5},
        params={"p": "b"},
        tags={"t": "2"},
    )
    add_run(
        engine, "r2", start_time=30, end_time=5, name="a", metrics={"acc": 0.9}, params={"p": "a"}
    )
    add_run(engine, "r3", start_time=20, end_time=7, name="c", metrics={"acc": float("nan")})
    add_run(engine, "r4", start_time=None, name="d", tags={"t": "1"})
    add_run(engine, "r5", start_time=30, name="e", metrics={"acc": 0.5}, params={"p": "c"})
    return engine


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # Default: start_time DESC (missing last), then run id.
        (None, ["r2", "r5", "r3", "r1", "r4"]),
        ([], ["r2", "r5", "r3", "r1", "r4"]),
        (["start_time"], ["r1", "r3", "r2", "r5", "r4"]),
        (["attributes.start_time DESC"], ["r2", "r5", "r3", "r1", "r4"]),
        # Metrics: ties broken by start_time DESC then run id; NaN after numbers, missing last.
        (["metrics.acc DESC"], ["r2", "r5", "r1", "r3", "r4"]),
        (["metrics.acc ASC"], ["r5", "r1", "r2", "r3", "r4"]),
        (["metric.`acc`"], ["r5", "r1", "r2", "r3", "r4"]),
        (["params.p"], ["r2", "r1", "r5", "r3", "r4"]),
        (["params.p DESC"], ["r5", "r1", "r2", "r3", "r4"]),
        (["tags.t"], ["r4", "r1", "r2", "r5", "r3"]),
        (["tags.t desc"], ["r1", "r4", "r2", "r5", "r3"]),
        (["end_time"], ["r2", "r3", "r5", "r1", "r4"]),
        (["end_time DESC"], ["r3", "r2", "r5", "r1", "r4"]),
        (["run_name DESC"], ["r5", "r4", "r3", "r1", "r2"]),
        (["attributes.run_id DESC"], ["r5", "r4", "r3", "r2", "r1"]),
        (["status", "run_id"], ["r1", "r2", "r3", "r4", "r5"]),
        (["metrics.acc", "params.p DESC"], ["r5", "r1", "r2", "r3", "r4"]),
        (["metrics.acc DESC", "metrics.missing", "tags.t"], ["r2", "r1", "r5", "r3", "r4"]),
    ],
)
def test_run_order(order_runs: Engine, order_by: list[str] | None, expected: list[str]) -> None:
    assert run_order(order_runs, order_by) == expected


def test_order_with_filter(order_runs: Engine) -> None:
    assert run_order(order_runs, ["metrics.acc DESC"], "params.p IS NOT NULL") == [
        "r2",
        "r5",
        "r1",
    ]
    assert run_order(order_runs, ["metrics.acc"], "metrics.acc >= 0.5 and start_time > 0") == [
        "r5",
        "r1",
        "r2",
    ]


def test_order_on_full_run_rows_with_limit(order_runs: Engine) -> None:
    stmt = search.apply_run_order(select(schema.runs), ["metrics.acc DESC", "params.p"])
    with order_runs.connect() as conn:
        rows = conn.execute(stmt.limit(2)).all()
    assert [r.run_uuid for r in rows] == ["r2", "r1"]  # r1 and r5 tie on acc; p: 'b' < 'c'
    assert rows[0].name == "a"


def test_bad_order_by_raises(engine: Engine) -> None:
    with pytest.raises(LabtrackException, match="unknown attribute 'nope'"):
        search.apply_run_order(select(schema.runs.c.run_uuid), ["nope"])


# ---------------------------------------------------------------------------------------------
# Experiments


@pytest.fixture
def experiments(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(schema.experiments.delete())
        conn.execute(
            insert(schema.experiments),
            [
                {
                    "experiment_id": 1,
                    "name": "Default",
                    "artifact_location": "x",
                    "creation_time": 10,
                    "last_update_time": 10,
                },
                {
                    "experiment_id": 2,
                    "name": "vision",
                    "artifact_location": "x",
                    "creation_time": 30,
                    "last_update_time": 40,
                },
                {
                    "experiment_id": 3,
                    "name": "Vision-2",
                    "artifact_location": "x",
                    "creation_time": 30,
                    "last_update_time": 35,
                },
                {
                    "experiment_id": 4,
                    "name": "nlp",
                    "artifact_location": "x",
                    "creation_time": None,
                    "last_update_time": None,
                },
            ],
        )
        conn.execute(
            insert(schema.experiment_tags),
            [
                {"experiment_id": 2, "key": "team", "value": "cv"},
                {"experiment_id": 3, "key": "team", "value": "CV"},
                {"experiment_id": 4, "key": "mlflow.note", "value": "n"},
            ],
        )
    return engine


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'vision'", {2}),
        ("name LIKE 'V%'", {3}),
        ("attributes.name ILIKE 'v%'", {2, 3}),
        ("name != 'nlp'", {1, 2, 3}),
        ("creation_time > 20", {2, 3}),
        ("last_update_time <= 35", {1, 3}),
        ("experiment_id = '2'", {2}),
        ("experiment_id IN ('1', '4')", {1, 4}),
        ("experiment_id NOT IN (1, 4)", {2, 3}),
        ("tags.team = 'cv'", {2}),
        ("tags.team ILIKE 'cv'", {2, 3}),
        ("tags.team != 'cv'", {3}),
        ("tags.team IS NULL", {1, 4}),
        ("tags.`mlflow.note` IS NOT NULL", {4}),
        ("name ILIKE 'vision%' and tags.team = 'CV'", {3}),
    ],
)
def test_experiment_filters(experiments: Engine, filter_string: str, expected: set[int]) -> None:
    stmt = select(schema.experiments.c.experiment_id).where(
        *search.experiment_filter_clauses(filter_string)
    )
    with experiments.connect() as conn:
        assert set(conn.scalars(stmt)) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, [2, 3, 1, 4]),
        (["name"], [1, 3, 4, 2]),  # byte order: upper case first on both backends here
        (["creation_time ASC"], [1, 2, 3, 4]),
        (["last_update_time DESC"], [2, 3, 1, 4]),
        (["experiment_id DESC"], [4, 3, 2, 1]),
    ],
)
def test_experiment_order(
    experiments: Engine, order_by: list[str] | None, expected: list[int]
) -> None:
    if order_by == ["name"] and experiments.dialect.name == "postgresql":
        with experiments.connect() as conn:
            collation = conn.scalar(
                text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            )
        if collation not in ("C", "C.UTF-8", "POSIX"):
            pytest.skip(f"name order depends on the database collation ({collation})")
    stmt = search.apply_experiment_order(select(schema.experiments.c.experiment_id), order_by)
    with experiments.connect() as conn:
        assert list(conn.scalars(stmt)) == expected


# ---------------------------------------------------------------------------------------------
# Registered models and model versions


@pytest.fixture
def registry(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(
            insert(schema.registered_models),
            [
                {"name": name, "creation_time": t, "last_updated_time": 100 - t}
                for name, t in [("alpha", 1), ("beta", 2), ("prompt-1", 3), ("Gamma", 4)]
            ],
        )
        conn.execute(
            insert(schema.registered_model_tags),
            [
                {"name": "prompt-1", "key": "mlflow.prompt.is_prompt", "value": "true"},
                {"name": "beta", "key": "mlflow.prompt.is_prompt", "value": "false"},
                {"name": "alpha", "key": "team", "value": "cv"},
            ],
        )
        conn.execute(
            insert(schema.model_versions),
            [
                {
                    "name": "alpha",
                    "version": 1,
                    "creation_time": 1,
                    "last_updated_time": 1,
                    "source": "s3://b/alpha/1",
                    "run_id": "run1",
                },
                {
                    "name": "alpha",
                    "version": 2,
                    "creation_time": 2,
                    "last_updated_time": 2,
                    "source": "runs:/run2/model",
                    "run_id": "run2",
                },
                {
                    "name": "alpha",
                    "version": 3,
                    "creation_time": 3,
                    "last_updated_time": 3,
                    "source": "s3://b/alpha/3",
                    "run_id": None,
                },
                {
                    "name": "beta",
                    "version": 1,
                    "creation_time": 4,
                    "last_updated_time": 4,
                    "source": "s3://b/beta/1",
                    "run_id": "run1",
                },
            ],
        )
        conn.execute(
            insert(schema.model_version_tags),
            [
                {"name": "alpha", "version": 2, "key": "stage", "value": "prod"},
                {"name": "beta", "version": 1, "key": "stage", "value": "dev"},
            ],
        )
    return engine


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'alpha'", {"alpha"}),
        ("name LIKE '%a'", {"alpha", "beta", "Gamma"}),
        ("name LIKE 'g%'", set()),
        ("name ILIKE 'g%'", {"Gamma"}),
        ("name != 'alpha'", {"beta", "prompt-1", "Gamma"}),
        # The clause the MLflow client appends: models without the tag match too.
        ("tag.`mlflow.prompt.is_prompt` != 'true'", {"alpha", "beta", "Gamma"}),
        ("name LIKE '%' AND tags.`mlflow.prompt.is_prompt` != 'true'", {"alpha", "beta", "Gamma"}),
        ("tags.`mlflow.prompt.is_prompt` = 'true'", {"prompt-1"}),
        ("tags.`mlflow.prompt.is_prompt` NOT IN ('true')", {"alpha", "beta", "Gamma"}),
        ("tags.team = 'cv'", {"alpha"}),
        ("tags.team IS NULL", {"beta", "prompt-1", "Gamma"}),
        ("tags.team LIKE 'c%' and name = 'alpha'", {"alpha"}),
    ],
)
def test_registered_model_filters(registry: Engine, filter_string: str, expected: set[str]) -> None:
    stmt = select(schema.registered_models.c.name).where(
        *search.registered_model_filter_clauses(filter_string)
    )
    with registry.connect() as conn:
        assert set(conn.scalars(stmt)) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["Gamma", "alpha", "beta", "prompt-1"]),
        (["name DESC"], ["prompt-1", "beta", "alpha", "Gamma"]),
        (["creation_timestamp DESC"], ["Gamma", "prompt-1", "beta", "alpha"]),
        (["last_updated_timestamp"], ["Gamma", "prompt-1", "beta", "alpha"]),
    ],
)
def test_registered_model_order(
    registry: Engine, order_by: list[str] | None, expected: list[str]
) -> None:
    stmt = search.apply_registered_model_order(select(schema.registered_models.c.name), order_by)
    with registry.connect() as conn:
        assert list(conn.scalars(stmt)) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'alpha'", {("alpha", 1), ("alpha", 2), ("alpha", 3)}),
        ("run_id = 'run1'", {("alpha", 1), ("beta", 1)}),
        ("run_id IN ('run2', 'nope')", {("alpha", 2)}),
        ("source_path LIKE 's3://b/alpha/%'", {("alpha", 1), ("alpha", 3)}),
        ("version_number > 1", {("alpha", 2), ("alpha", 3)}),
        ("name = 'alpha' and version = 2", {("alpha", 2)}),
        ("version_number IN (1, 3)", {("alpha", 1), ("alpha", 3), ("beta", 1)}),
        ("tags.stage = 'prod'", {("alpha", 2)}),
        ("tags.stage != 'prod'", {("alpha", 1), ("alpha", 3), ("beta", 1)}),
        ("tags.stage IS NOT NULL and name ILIKE 'BETA'", {("beta", 1)}),
    ],
)
def test_model_version_filters(
    registry: Engine, filter_string: str, expected: set[tuple[str, int]]
) -> None:
    mv = schema.model_versions
    stmt = select(mv.c.name, mv.c.version).where(
        *search.model_version_filter_clauses(filter_string)
    )
    with registry.connect() as conn:
        assert {tuple(r) for r in conn.execute(stmt)} == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # MLflow 3.17's default: newest first (last updated DESC), then name ASC, version DESC.
        (None, [("beta", 1), ("alpha", 3), ("alpha", 2), ("alpha", 1)]),
        (["version_number"], [("alpha", 1), ("beta", 1), ("alpha", 2), ("alpha", 3)]),
        (["creation_timestamp DESC"], [("beta", 1), ("alpha", 3), ("alpha", 2), ("alpha", 1)]),
        (["name DESC"], [("beta", 1), ("alpha", 3), ("alpha", 2), ("alpha", 1)]),
    ],
)
def test_model_version_order(
    registry: Engine, order_by: list[str] | None, expected: list[tuple[str, int]]
) -> None:
    mv = schema.model_versions
    stmt = search.apply_model_version_order(select(mv.c.name, mv.c.version), order_by)
    with registry.connect() as conn:
        assert [tuple(r) for r in conn.execute(stmt)] == expected


# ---------------------------------------------------------------------------------------------
# Performance: 10,000 runs, a metric and a param filter, ordered by a metric


@pytest.mark.slow
def test_search_10k_runs_probes_primary_keys(engine: Engine) -> None:
    n = 10_000
    with engine.begin() as conn:
        conn.execute(
            insert(schema.runs),
            [
                {"run_uuid": f"{i:032x}", "experiment_id": 1, "artifact_uri": "x", "start_time": i}
                for i in range(n)
            ],
        )
        conn.execute(
            insert(schema.params),
            [
                {"run_uuid": f"{i:032x}", "key": k, "value": str(i % 3)}
                for i in range(n)
                for k in ("lr", "batch", "opt")
            ],
        )
        conn.execute(
            insert(schema.latest_metrics),
            [
                {
                    "run_uuid": f"{i:032x}",
                    "key": k,
                    "value": (i * 7919 % n) / n,
                    "timestamp": 0,
                    "step": 0,
                    "is_nan": False,
                    "experiment_id": 1,
                }
                for i in range(n)
                for k in ("acc", "loss")
            ],
        )
        conn.execute(text("ANALYZE"))
    runs = schema.runs
    numbers, *other_tiers = search.run_search_statements(
        [1],
        "metrics.acc > 0.1 and params.lr = '1'",
        ["metrics.acc DESC"],
        where=[runs.c.lifecycle_stage == "active"],
    )
    stmt = numbers.limit(1000)

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
            plan = " | ".join(
                row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
            # Runs are visited in metric order straight from the index (the search stops at
            # the LIMIT); every other lookup goes through a primary key, never a table scan.
            assert (
                "SEARCH order_first_metric USING COVERING INDEX ix_latest_metrics_order "
                "(experiment_id=? AND key=? AND is_nan=?)" in plan
            ), plan
            assert "SCAN" not in plan, plan
            assert "SEARCH latest_metrics_1 USING PRIMARY KEY (run_uuid=? AND key=?)" in plan, plan
            assert "SEARCH params_1 USING PRIMARY KEY (run_uuid=? AND key=?)" in plan, plan
        ids = conn.scalars(stmt).all()
        assert all(conn.scalars(tier.limit(1)).all() == [] for tier in other_tiers)
    assert len(ids) == 1000
    acc = {i: (i * 7919 % n) / n for i in range(n)}
    expected = sorted(
        (i for i in range(n) if acc[i] > 0.1 and i % 3 == 1), key=lambda i: (-acc[i], -i)
    )[:1000]
    assert ids == [f"{i:032x}" for i in expected]
    # Speed is measured in benchmarks/bench_tracking.py, not asserted here.
