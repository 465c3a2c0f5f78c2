"""Compile parsed search filters and order_by clauses into SQLAlchemy 2 Core constructs.

Every value and key is a bound parameter; no SQL text is built from user input.

Semantics (MLflow's):

* Runs: a clause on a metric, param or tag requires the key to exist (``!=`` and ``NOT IN``
  included); ``IS NULL`` matches runs without the key. Each such clause is a correlated
  ``EXISTS`` on the child table, whose primary key starts with ``(run_uuid, key)``.
* Metrics compare the latest value. A NaN latest value matches only ``!=``.
* Registered models and model versions: ``tags.k != v`` (and ``NOT IN``) also match entities
  without the tag, so the ``tag.`mlflow.prompt.is_prompt` != 'true'`` clause the MLflow client
  appends to every registered-model search works for models that never had that tag.
* ``LIKE`` is case-sensitive on both backends, ``ILIKE`` is not. Backslash escapes ``%``/``_``
  on both (PostgreSQL's default; stated explicitly for SQLite). On SQLite, whose LIKE ignores
  ASCII case, a case-sensitive LIKE is compiled to ``GLOB`` with the pattern translated
  (``%`` -> ``*``, ``_`` -> ``?``, literal ``*?[`` bracketed), still as a bound parameter.
* Ordering puts missing values last in both directions (then NaN before missing for metrics),
  and always ends with a unique tie-breaker so pagination is stable.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Join
from sqlalchemy.sql.visitors import InternalTraversal

from labtrack.entities import system_tags
from labtrack.errors import LabtrackException
from labtrack.store import schema
from labtrack.store.search.parser import Comparison, OrderBy, parse_filter, parse_order_by

__all__ = [
    "apply_experiment_order",
    "apply_model_version_order",
    "apply_registered_model_order",
    "apply_run_order",
    "case_sensitive_like",
    "experiment_filter_clauses",
    "like_to_glob",
    "model_version_filter_clauses",
    "registered_model_filter_clauses",
    "run_filter_clauses",
    "run_search_statements",
]

SelectT = TypeVar("SelectT", bound=Select[Any])

# Key of the run-input tag that holds a dataset's context ("training", "eval", ...).

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


# The constant selected by EXISTS subqueries (a fixed SQL literal, not user input).
_ONE: ColumnElement[int] = literal_column("1")


def _invalid(message: str) -> LabtrackException:
    return LabtrackException(message, "INVALID_PARAMETER_VALUE")


# --------------------------------------------------------------------------------------------
# Case-sensitive LIKE on both backends


class CaseSensitiveLike(ColumnElement[bool]):
    """``left LIKE pattern ESCAPE '\\'``, case-sensitive everywhere (GLOB on SQLite)."""

    __visit_name__ = "labtrack_case_sensitive_like"
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # no "= 1" wrapper on backends without a boolean type
    _traverse_internals = [
        ("left", InternalTraversal.dp_clauseelement),
        ("like_pattern", InternalTraversal.dp_clauseelement),
        ("glob_pattern", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, left: ColumnElement[Any], pattern: str) -> None:
        self.left = left
        self.like_pattern: BindParameter[str] = bindparam(
            None, pattern, type_=String(), unique=True
        )
        self.glob_pattern: BindParameter[str] = bindparam(
            None, like_to_glob(pattern), type_=String(), unique=True
        )


@compiles(CaseSensitiveLike)
def _compile_like(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.left.like(element.like_pattern, escape="\\"), **kw)


@compiles(CaseSensitiveLike, "sqlite")
def _compile_like_sqlite(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    glob = element.left.op("GLOB", is_comparison=True)(element.glob_pattern)
    return compiler.process(glob, **kw)


def case_sensitive_like(left: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    return CaseSensitiveLike(left, pattern)


class DrivingJoin(Join):
    """An inner join whose left side is the outer loop.

    SQLite's planner does not weigh an early LIMIT, so left to itself it prefers scanning all
    runs of an experiment and sorting them over walking a metric index in order; ``CROSS
    JOIN`` is SQLite's documented way to fix the loop order. Elsewhere this is a plain JOIN.
    """

    inherit_cache = True


@compiles(DrivingJoin, "sqlite")
def _compile_driving_join_sqlite(element: DrivingJoin, compiler: SQLCompiler, **kw: Any) -> str:
    kw["asfrom"] = True
    left = compiler.process(element.left, **kw)
    right = compiler.process(element.right, **kw)
    assert element.onclause is not None
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (escape ``\\``) into an equivalent SQLite GLOB pattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(_glob_literal(pattern[i + 1]))
            i += 2
            continue
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch))
        i += 1
    return "".join(out)


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch


# --------------------------------------------------------------------------------------------
# Shared pieces


def _match(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """``column op value`` for a non-NULL operator."""
    if op in _COMPARE:
        return _COMPARE[op](column, value)
    if op == "LIKE":
        return case_sensitive_like(column, value)
    if op == "ILIKE":
        return column.ilike(value, escape="\\")
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    raise _invalid(f"unsupported operator {op}")  # pragma: no cover - parser rejects it


def _negated(op: str) -> str:
    return {"!=": "=", "NOT IN": "IN"}[op]


def _key_value_clause(
    table: Any,
    owner: Sequence[tuple[ColumnElement[Any], ColumnElement[Any]]],
    correlate: Any,
    c: Comparison,
    missing_is_not_equal: bool,
) -> ColumnElement[bool]:
    """A clause on a key/value child table (params, tags, ...), as a correlated EXISTS.

    ``owner`` pairs (child column, parent column) that tie the child row to its parent.
    """
    t = table.alias()
    link = [t.c[child.name] == parent for child, parent in owner]
    base = select(_ONE).select_from(t).where(*link, t.c.key == c.key).correlate(correlate)
    if c.op == "IS NULL":
        return ~base.exists()
    if c.op == "IS NOT NULL":
        return base.exists()
    if missing_is_not_equal and c.op in ("!=", "NOT IN"):
        return ~base.where(_match(t.c.value, _negated(c.op), c.value)).exists()
    return base.where(_match(t.c.value, c.op, c.value)).exists()


def _ordered(column: ColumnElement[Any], ascending: bool) -> ColumnElement[Any]:
    return column.asc().nulls_last() if ascending else column.desc().nulls_last()


# --------------------------------------------------------------------------------------------
# Runs

_RUN_COLUMNS: dict[str, ColumnElement[Any]] = {
    "run_name": schema.runs.c.name,
    "status": schema.runs.c.status,
    "user_id": schema.runs.c.user_id,
    "artifact_uri": schema.runs.c.artifact_uri,
    "lifecycle_stage": schema.runs.c.lifecycle_stage,
    "run_id": schema.runs.c.run_uuid,
    "start_time": schema.runs.c.start_time,
    "end_time": schema.runs.c.end_time,
}


def _run_metric_clause(c: Comparison, run_id: ColumnElement[Any]) -> ColumnElement[bool]:
    lm = schema.latest_metrics.alias()
    if c.op == "!=":  # NaN differs from every number
        cond = or_(lm.c.is_nan == true(), lm.c.value != c.value)
    else:
        cond = and_(lm.c.is_nan == false(), _COMPARE[c.op](lm.c.value, c.value))
    return (
        select(_ONE)
        .select_from(lm)
        .where(lm.c.run_uuid == run_id, lm.c.key == c.key, cond)
        .correlate(run_id.table)
        .exists()
    )


def _run_dataset_clause(
    clauses: list[Comparison], run_id: ColumnElement[Any]
) -> ColumnElement[bool]:
    """All dataset clauses must hold for one and the same input dataset of the run."""
    ri = schema.run_inputs.alias()
    ds = schema.datasets.alias()
    conds: list[ColumnElement[bool]] = []
    for c in clauses:
        if c.key == "context":
            rit = schema.run_input_tags.alias()
            conds.append(
                select(_ONE)
                .select_from(rit)
                .where(
                    rit.c.run_uuid == ri.c.run_uuid,
                    rit.c.dataset_uuid == ri.c.dataset_uuid,
                    rit.c.key == system_tags.DATASET_CONTEXT,
                    _match(rit.c.value, c.op, c.value),
                )
                .correlate(ri)
                .exists()
            )
        else:
            conds.append(_match(ds.c[c.key], c.op, c.value))
    return (
        select(_ONE)
        .select_from(ri.join(ds, ds.c.dataset_uuid == ri.c.dataset_uuid))
        .where(ri.c.run_uuid == run_id, *conds)
        .correlate(run_id.table)
        .exists()
    )


def run_filter_clauses(
    filter_string: str | None, run_id: ColumnElement[Any] | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses over ``schema.runs`` for an MLflow run search filter.

    Clauses on metrics, params, tags and datasets correlate to ``run_id`` (default
    ``runs.run_uuid``): a search driven by another table's run ids can test them before it
    reads the run row.
    """
    runs = schema.runs
    rid: Any = runs.c.run_uuid if run_id is None else run_id
    out: list[ColumnElement[bool]] = []
    dataset_clauses: list[Comparison] = []
    for c in parse_filter(filter_string, "run"):
        if c.entity_type == "metric":
            out.append(_run_metric_clause(c, rid))
        elif c.entity_type in ("param", "tag"):
            table = schema.params if c.entity_type == "param" else schema.tags
            out.append(_key_value_clause(table, [(table.c.run_uuid, rid)], rid.table, c, False))
        elif c.entity_type == "dataset":
            dataset_clauses.append(c)
        else:
            out.append(_match(_RUN_COLUMNS[c.key], c.op, c.value))
    if dataset_clauses:
        out.append(_run_dataset_clause(dataset_clauses, rid))
    return out


def apply_run_order(stmt: SelectT, order_by: list[str] | None) -> SelectT:
    """Add ORDER BY (and the outer joins it needs) for a run search to ``stmt``.

    ``stmt`` must select from ``schema.runs``. Missing values sort last in both directions;
    metrics with a NaN latest value sort after numbers and before missing ones. Unless
    ordered explicitly, ``start_time DESC`` follows; ``run_uuid`` always breaks ties.
    """
    return _order_runs(stmt, parse_order_by(order_by, "run"))


def run_search_statements(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    order_by: list[str] | None,
    columns: Sequence[ColumnElement[Any]] = (schema.runs.c.run_uuid,),
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Select[Any]]:
    """A run search as statements whose results, concatenated, are the whole ordered result.

    The order is ``apply_run_order``'s. When it starts with a metric, the search is split into
    three tiers (numbers, NaN, missing) so the first can walk the latest-metric index in order
    and stop at the LIMIT, instead of probing and sorting every run of the experiments; its
    filter tests the metric rows' run ids before reading run rows. ``where`` holds more
    clauses over ``schema.runs`` (lifecycle, say); the caller pages through the tiers.
    """
    runs = schema.runs
    clauses = parse_order_by(order_by, "run")
    run_in_experiments = runs.c.experiment_id.in_(experiment_ids)
    on_runs = [*where, *run_filter_clauses(filter_string)]
    if not clauses or clauses[0].entity_type != "metric":
        return [_order_runs(select(*columns).where(run_in_experiments, *on_runs), clauses)]
    first, rest = clauses[0], clauses[1:]
    lm = schema.latest_metrics.alias("order_first_metric")
    joined = DrivingJoin(lm, runs, lm.c.run_uuid == runs.c.run_uuid)
    on_metric_rows = [*where, *run_filter_clauses(filter_string, lm.c.run_uuid)]
    # The value column is NOT NULL here, so a plain ASC/DESC matches the index order. The
    # experiments are restricted through the metric rows only, so the planner drives the
    # search from their index rather than from the runs of the experiments plus a sort.
    value_order = lm.c.value.asc() if first.ascending else lm.c.value.desc()
    in_experiments = lm.c.experiment_id.in_(experiment_ids)
    numbers = select(*columns).select_from(joined)
    numbers = numbers.where(
        in_experiments, lm.c.key == first.key, lm.c.is_nan == false(), *on_metric_rows
    )
    nans = select(*columns).select_from(joined)
    nans = nans.where(in_experiments, lm.c.key == first.key, lm.c.is_nan == true(), *on_metric_rows)
    present = schema.latest_metrics.alias("order_first_present")
    has_metric = (
        select(_ONE)
        .select_from(present)
        .where(present.c.run_uuid == runs.c.run_uuid, present.c.key == first.key)
        .correlate(runs)
        .exists()
    )
    missing = select(*columns).where(run_in_experiments, ~has_metric, *on_runs)
    return [
        _order_runs(numbers, rest, lead=[value_order]),
        _order_runs(nans, rest),
        _order_runs(missing, rest),
    ]


def _order_runs(
    stmt: SelectT, clauses: Sequence[OrderBy], lead: Sequence[ColumnElement[Any]] = ()
) -> SelectT:
    runs = schema.runs
    order: list[ColumnElement[Any]] = list(lead)
    has_start_time = False
    for i, ob in enumerate(clauses):
        if ob.entity_type == "metric":
            lm = schema.latest_metrics.alias(f"order_metric_{i}")
            stmt = stmt.outerjoin_from(
                runs, lm, and_(lm.c.run_uuid == runs.c.run_uuid, lm.c.key == ob.key)
            )
            rank = case((lm.c.run_uuid.is_(None), 2), (lm.c.is_nan == true(), 1), else_=0)
            order += [rank.asc(), _ordered(lm.c.value, ob.ascending)]
        elif ob.entity_type in ("param", "tag"):
            table = schema.params if ob.entity_type == "param" else schema.tags
            kv = table.alias(f"order_{ob.entity_type}_{i}")
            stmt = stmt.outerjoin_from(
                runs, kv, and_(kv.c.run_uuid == runs.c.run_uuid, kv.c.key == ob.key)
            )
            order.append(_ordered(kv.c.value, ob.ascending))
        else:
            has_start_time = has_start_time or ob.key == "start_time"
            order.append(_ordered(_RUN_COLUMNS[ob.key], ob.ascending))
    if not has_start_time:
        order.append(_ordered(runs.c.start_time, ascending=False))
    order.append(runs.c.run_uuid.asc())
    return stmt.order_by(*order)


# --------------------------------------------------------------------------------------------
# Experiments

_EXPERIMENT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": schema.experiments.c.name,
    "experiment_id": schema.experiments.c.experiment_id,
    "creation_time": schema.experiments.c.creation_time,
    "last_update_time": schema.experiments.c.last_update_time,
}


def experiment_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over ``schema.experiments`` for an experiment search filter."""
    exps = schema.experiments
    tags = schema.experiment_tags
    out: list[ColumnElement[bool]] = []
    for c in parse_filter(filter_string, "experiment"):
        if c.entity_type == "tag":
            link = [(tags.c.experiment_id, exps.c.experiment_id)]
            out.append(_key_value_clause(tags, link, exps, c, False))
        else:
            out.append(_match(_EXPERIMENT_COLUMNS[c.key], c.op, c.value))
    return out


def apply_experiment_order(stmt: SelectT, order_by: list[str] | None) -> SelectT:
    """ORDER BY for an experiment search; default ``creation_time DESC``, then id ASC."""
    exps = schema.experiments
    clauses = parse_order_by(order_by, "experiment")
    if not clauses:
        clauses = [OrderBy("attribute", "creation_time", ascending=False)]
    order = [_ordered(_EXPERIMENT_COLUMNS[ob.key], ob.ascending) for ob in clauses]
    order.append(exps.c.experiment_id.asc())
    return stmt.order_by(*order)


# --------------------------------------------------------------------------------------------
# Registered models and model versions

_REGISTERED_MODEL_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": schema.registered_models.c.name,
    "creation_time": schema.registered_models.c.creation_time,
    "last_updated_time": schema.registered_models.c.last_updated_time,
}

_MODEL_VERSION_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": schema.model_versions.c.name,
    "run_id": schema.model_versions.c.run_id,
    "source_path": schema.model_versions.c.source,
    "version_number": schema.model_versions.c.version,
    "creation_time": schema.model_versions.c.creation_time,
    "last_updated_time": schema.model_versions.c.last_updated_time,
}


def registered_model_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over ``schema.registered_models`` for a registered-model search filter."""
    models = schema.registered_models
    tags = schema.registered_model_tags
    out: list[ColumnElement[bool]] = []
    for c in parse_filter(filter_string, "registered_model"):
        if c.entity_type == "tag":
            out.append(_key_value_clause(tags, [(tags.c.name, models.c.name)], models, c, True))
        else:
            out.append(_match(_REGISTERED_MODEL_COLUMNS[c.key], c.op, c.value))
    return out


def apply_registered_model_order(stmt: SelectT, order_by: list[str] | None) -> SelectT:
    """ORDER BY for a registered-model search; default and tie-breaker ``name ASC``."""
    clauses = parse_order_by(order_by, "registered_model")
    order = [_ordered(_REGISTERED_MODEL_COLUMNS[ob.key], ob.ascending) for ob in clauses]
    order.append(schema.registered_models.c.name.asc())
    return stmt.order_by(*order)


def model_version_filter_clauses(filter_string: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses over ``schema.model_versions`` for a model-version search filter."""
    mv = schema.model_versions
    tags = schema.model_version_tags
    out: list[ColumnElement[bool]] = []
    for c in parse_filter(filter_string, "model_version"):
        if c.entity_type == "tag":
            link = [(tags.c.name, mv.c.name), (tags.c.version, mv.c.version)]
            out.append(_key_value_clause(tags, link, mv, c, True))
        else:
            out.append(_match(_MODEL_VERSION_COLUMNS[c.key], c.op, c.value))
    return out


def apply_model_version_order(stmt: SelectT, order_by: list[str] | None) -> SelectT:
    """ORDER BY for a model-version search. MLflow 3.17's default, newest first: last updated
    DESC, name ASC, version DESC (also the tie-breakers of any given order)."""
    mv = schema.model_versions
    clauses = parse_order_by(order_by, "model_version")
    order = [_ordered(_MODEL_VERSION_COLUMNS[ob.key], ob.ascending) for ob in clauses]
    if not clauses:
        order.append(mv.c.last_updated_time.desc())
    order += [mv.c.name.asc(), mv.c.version.desc()]
    return stmt.order_by(*order)


# --------------------------------------------------------------------------------------------
# Logged models

_LOGGED_MODEL_COLUMNS: dict[str, ColumnElement[Any]] = {
    name: schema.logged_models.c[name]
    for name in (
        "model_id",
        "name",
        "status",
        "model_type",
        "source_run_id",
        "experiment_id",
        "creation_timestamp",
        "last_updated_timestamp",
    )
}


# A logged-model search's ``datasets`` entry: (dataset name, digest or None for any digest).
DatasetFilter = tuple[str, str | None]


def logged_model_filter_clauses(
    comparisons: Sequence[Comparison], datasets: Sequence[DatasetFilter] = ()
) -> list[ColumnElement[bool]]:
    """WHERE clauses over ``schema.logged_models`` for a parsed logged-model filter
    (``parse_filter(..., "logged_model")``; the service normalises status names first).

    ``metrics.<key> <op> <number>`` matches a model with any point of that metric that
    compares true (MLflow 3.17's rule), NaN points never; ``datasets`` keeps models with
    metrics on one of the datasets and narrows metric clauses to points on them."""
    models = schema.logged_models
    out: list[ColumnElement[bool]] = []
    on_datasets: list[ColumnElement[bool]] = []
    metrics = schema.logged_model_metrics.alias("lmm")
    for name, digest in datasets:
        clause = metrics.c.dataset_name == name
        if digest:
            clause = and_(clause, metrics.c.dataset_digest == digest)
        on_datasets.append(clause)
    dataset_clause = [or_(*on_datasets)] if on_datasets else []

    def model_metrics(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        return (
            select(_ONE)
            .select_from(metrics)
            .where(metrics.c.model_id == models.c.model_id, *where, *dataset_clause)
            .correlate(models)
            .exists()
        )

    has_metric_clause = False
    for c in comparisons:
        if c.entity_type == "metric":
            has_metric_clause = True
            out.append(
                model_metrics(
                    metrics.c.key == c.key,
                    metrics.c.is_nan.is_(False),
                    _match(metrics.c.value, c.op, c.value),
                )
            )
        elif c.entity_type in ("tag", "param"):
            table = (
                schema.logged_model_tags if c.entity_type == "tag" else schema.logged_model_params
            )
            # A model without the key matches no clause on it, != included.
            link = [(table.c.model_id, models.c.model_id)]
            out.append(_key_value_clause(table, link, models, c, False))
        else:
            out.append(_match(_LOGGED_MODEL_COLUMNS[c.key], c.op, c.value))
    if dataset_clause and not has_metric_clause:
        out.append(model_metrics())
    return out
