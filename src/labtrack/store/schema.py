"""The database schema: SQLAlchemy Core tables, one definition for SQLite and PostgreSQL.

Alembic migrations in ``migrations/`` create exactly this; a test compares the two.

Metric history is stored as columnar chunks (``metric_chunks``): each row holds up to
``CHUNK_POINTS`` points of one (run, key) as packed little-endian arrays. Reading a 1M-point
history is then a few hundred row fetches plus ``numpy.frombuffer`` instead of a million row
fetches, and charts downsample in numpy. ``latest_metrics`` keeps the value search and
order_by use, as MLflow defines it (the point with the greatest (step, timestamp, value)).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Stable constraint names so that migrations (SQLite batch mode) can address them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

KEY = String(250)
NAME = String(256)
PARAM_VALUE = String(6000)
TAG_VALUE = String(8000)
RUN_ID = String(32)
TIME = BigInteger

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, server_default="active"),
    Column("creation_time", TIME),
    Column("last_update_time", TIME),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", RUN_ID, primary_key=True),
    Column("name", NAME, nullable=False, server_default=""),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("user_id", NAME, nullable=False, server_default=""),
    Column("status", String(16), nullable=False, server_default="RUNNING"),
    Column("start_time", TIME),
    Column("end_time", TIME),
    Column("deleted_time", TIME),
    Column("lifecycle_stage", String(32), nullable=False, server_default="active"),
    Column("artifact_uri", Text, nullable=False),
    # Denormalised from the mlflow.parentRunId tag: nested-run trees without a tag join.
    Column("parent_run_id", RUN_ID),
    # The run's params, tags and latest metrics as one JSON document, rewritten by every write
    # to them (see summaries.refresh_summary): loading 1,000 runs for a search is then one
    # indexed read per run instead of aggregating three child tables. The child tables stay
    # the system of record and what search filters on.
    Column("summary", Text),
    # The run as MLflow's REST API writes it (``wire.run_to_json``), rewritten with the
    # summary: REST search answers splice it in unparsed (revision 0002). NULL for runs with
    # dataset inputs or model outputs, and after bulk lifecycle changes; search encodes those.
    Column("run_json", LargeBinary),
    # When the run's writer last said it is alive (labtrack clients beat while a run is
    # active; revision 0004). NULL for runs that never beat (MLflow's clients): never swept.
    Column("heartbeat_time", TIME),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_parent", "parent_run_id"),
)


def _run_fk() -> ForeignKey:
    return ForeignKey("runs.run_uuid", ondelete="CASCADE")


params = Table(
    "params",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", PARAM_VALUE, nullable=False),
    Index("ix_params_key_value", "key", "value"),
    # SQLite: clustered on the primary key, so search's per-run probes read one B-tree.
    sqlite_with_rowid=False,
)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
    Index("ix_tags_key", "key"),
    sqlite_with_rowid=False,
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Column("timestamp", TIME, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False, server_default="0"),
    # The run's experiment (runs never move): a search ordered by a metric walks this index in
    # value order within the experiment, NaN kept apart, and stops at its LIMIT.
    Column("experiment_id", Integer, nullable=False),
    Index("ix_latest_metrics_order", "experiment_id", "key", "is_nan", "value"),
    sqlite_with_rowid=False,
)

# Up to CHUNK_POINTS points per row; arrays are little-endian int64/int64/float64.
CHUNK_POINTS = 4096

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    # Order of the key's chunks (insertion order decides ties between equal points). Dense per
    # key on SQLite; on PostgreSQL drawn from one sequence (METRIC_CHUNK_SEQUENCE) so that
    # concurrent writers of one key never race for the same number (revision 0003).
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("n_points", Integer, nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    Column("min_timestamp", TIME, nullable=False),
    Column("max_timestamp", TIME, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("timestamps", LargeBinary, nullable=False),
    Column("values", LargeBinary, nullable=False),
    # 3.x points may name a logged model / dataset; kept per chunk, as chunks split on them.
    Column("model_id", String(64)),
    Column("dataset_name", NAME),
    Column("dataset_digest", String(64)),
    # Never merged again: written by a merge, or big enough when appended (revision 0003).
    Column("settled", Boolean, nullable=False, server_default="0"),
)

# PostgreSQL only: where new chunk seqs come from (created by revision 0003).
METRIC_CHUNK_SEQUENCE = "metric_chunk_seq"

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(32), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", NAME, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("source_type", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text),
    Column("profile", Text),
    UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_exp_name_digest"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column(
        "dataset_uuid",
        String(32),
        ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
)

run_input_tags = Table(
    "run_input_tags",
    metadata,
    Column("run_uuid", RUN_ID, primary_key=True),
    Column("dataset_uuid", String(32), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
    ForeignKeyConstraint(
        ["run_uuid", "dataset_uuid"],
        ["run_inputs.run_uuid", "run_inputs.dataset_uuid"],
        ondelete="CASCADE",
        name="fk_run_input_tags_run_inputs",
    ),
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(64), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", NAME, nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("creation_timestamp", TIME, nullable=False),
    Column("last_updated_timestamp", TIME, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_message", Text),
    Column("lifecycle_stage", String(32), nullable=False, server_default="active"),
    Column("model_type", String(256)),
    Column("source_run_id", RUN_ID),
    Index("ix_logged_models_experiment", "experiment_id", "creation_timestamp"),
)


def _model_fk() -> ForeignKey:
    return ForeignKey("logged_models.model_id", ondelete="CASCADE")


logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", String(64), _model_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_id", String(64), _model_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", PARAM_VALUE, nullable=False),
)

run_outputs = Table(
    "run_outputs",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("model_id", String(64), _model_fk(), primary_key=True),
    Column("step", BigInteger, nullable=False, server_default="0"),
)

# Metric points logged with a model_id (MLflow 3): the model's ``metrics``, what logged-model
# search filters on (``metrics.<key>``, ``datasets``). The run's own history (metric_chunks)
# keeps them too. Dataset name/digest are "" when absent, so the primary key dedupes retries.
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("model_id", String(64), _model_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("timestamp", TIME, primary_key=True, autoincrement=False),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("dataset_name", NAME, primary_key=True, server_default=""),
    Column("dataset_digest", String(64), primary_key=True, server_default=""),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, server_default="0"),
)

# Logged models a run used (``runs/log-inputs`` with ``models``). Like source_run_id, a
# reference MLflow does not check: no foreign key to logged_models.
run_model_inputs = Table(
    "run_model_inputs",
    metadata,
    Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
    Column("model_id", String(64), primary_key=True),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("creation_time", TIME, nullable=False),
    Column("last_updated_time", TIME, nullable=False),
    Column("description", Text),
)


def _registered_model_fk() -> ForeignKey:
    return ForeignKey("registered_models.name", ondelete="CASCADE", onupdate="CASCADE")


registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", NAME, _registered_model_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", NAME, _registered_model_fk(), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("creation_time", TIME, nullable=False),
    Column("last_updated_time", TIME, nullable=False),
    Column("description", Text),
    Column("user_id", NAME),
    Column("current_stage", String(20), nullable=False, server_default="None"),
    Column("source", Text),
    Column("run_id", RUN_ID),
    Column("run_link", Text),
    Column("status", String(20), nullable=False, server_default="READY"),
    Column("status_message", Text),
    Column("storage_location", Text),
    Column("model_id", String(64)),
    Index("ix_model_versions_run", "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", TAG_VALUE, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        ondelete="CASCADE",
        onupdate="CASCADE",
        name="fk_model_version_tags_model_versions",
    ),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("name", NAME, _registered_model_fk(), primary_key=True),
    Column("alias", NAME, primary_key=True),
    Column("version", Integer, nullable=False),
)

# Facts about the store every process must agree on (e.g. the artifact root), written once.
store_settings = Table(
    "store_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# A monotonic change feed for the UI: every write appends (experiment, run, kind).
# Pollers ask "what changed after cursor N", which is one indexed range scan.
changes = Table(
    "changes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("time", TIME, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("experiment_id", Integer),
    Column("run_uuid", RUN_ID),
)

# Team mode: who holds which MLflow permission level on an experiment or a registered model
# (revision 0003). ``resource_id``: an experiment's id as text, or a registered model's name.
# ``grantee_kind``: ``user`` (a hub user's name) or ``group`` (a hub group's name). ``id``
# numbers a grant for MLflow's roles API (``role_permission_id``).
permissions = Table(
    "permissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", NAME, nullable=False),
    Column("grantee_kind", String(16), nullable=False),
    Column("grantee", NAME, nullable=False),
    Column("permission", String(32), nullable=False),
    UniqueConstraint(
        "resource_type", "resource_id", "grantee_kind", "grantee", name="uq_permissions_grant"
    ),
    # "What does bob hold": the grants API lists by grantee.
    Index("ix_permissions_grantee", "grantee_kind", "grantee"),
)

# Team mode: hub groups registered as MLflow roles (the roles API names roles by number).
hub_group_roles = Table(
    "hub_group_roles",
    metadata,
    Column("role_id", Integer, primary_key=True, autoincrement=True),
    Column("group_name", NAME, nullable=False, unique=True),
)
