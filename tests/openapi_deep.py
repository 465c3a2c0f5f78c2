"""schemathesis against the served OpenAPI document, counted per check and per operation.

Runnable by hand (the deep pass; it starts its own live server unless ``--url`` is given)::

    PYTHONPATH=src python tests/openapi_deep.py --examples 50 [--json out.json]

and imported by ``tests/test_openapi_schemathesis.py`` (the bounded CI pass), so both send
the same cases and judge them by the same checks.

Every generated case is sent once and each check judges the answer on its own, so one case can
count under several checks. Positive cases (schema-valid) face every check but
``negative_data_rejection``; negative cases (schema-invalid) face ``negative_data_rejection``
and ``not_a_server_error``. A positive case refused with 400 ``RESOURCE_ALREADY_EXISTS`` or
``INVALID_STATE`` meets the state the earlier cases left (a name taken, a run already
finished), and so does one refused because its run or experiment was deleted by an earlier
case (MLflow's ``INVALID_PARAMETER_VALUE`` "must be in the 'active' state"): MLflow answers
those with 400 where HTTP would say 409, and no document can state them, so they are counted
apart (``state_conflicts``), not as rejected valid data.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

OPENAPI = Path(str(resources.files("labtrack.server").joinpath("openapi.yaml")))
ALL_CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
)
# MLflow's error codes for a request that is well formed but meets the store's state.
STATE_CONFLICT_CODES = frozenset({"RESOURCE_ALREADY_EXISTS", "INVALID_STATE"})
# ... and MLflow's words when it answers a write to a deleted run or experiment with
# INVALID_PARAMETER_VALUE (its code for that state; labtrack keeps MLflow's code).
STATE_CONFLICT_MESSAGE = "must be in the 'active' state"


# The document's custom string formats: a search filter or an order_by clause in MLflow's
# syntax per kind of entity, and an opaque page token. What a grammar accepts is no JSON
# schema; these generate sentences of it (the fields' documentation says which syntax).
_WORD = st.from_regex(r"[A-Za-z0-9_]{1,12}", fullmatch=True)
_TEXT = st.from_regex(r"[A-Za-z0-9_ %.-]{0,16}", fullmatch=True)
_NUMBER = st.integers(-1000, 1000).map(str) | st.floats(-1e6, 1e6).map(repr)


def _filter(clauses: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.just("") | st.lists(clauses, min_size=1, max_size=3).map(" AND ".join)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "") + "'"


_TAG_CLAUSE = st.builds(
    lambda k, op, v: f"tags.{k} {op} {_quoted(v)}", _WORD, st.sampled_from(["=", "!="]), _TEXT
)
_NAME_CLAUSE = st.builds(
    lambda op, v: f"name {op} {_quoted(v)}", st.sampled_from(["=", "!=", "LIKE", "ILIKE"]), _TEXT
)
_RUN_CLAUSE = (
    st.builds(
        lambda k, op, n: f"metrics.{k} {op} {n}",
        _WORD,
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        _NUMBER,
    )
    | st.builds(lambda k, v: f"params.{k} = {_quoted(v)}", _WORD, _TEXT)
    | _TAG_CLAUSE
    | st.builds(
        lambda v: f"attributes.status = {_quoted(v)}",
        st.sampled_from(["RUNNING", "FINISHED", "FAILED", "KILLED"]),
    )
)
_ASC = st.sampled_from(["", " ASC", " DESC"])
_SEGMENT = st.from_regex(r"[A-Za-z0-9_ -][A-Za-z0-9_. -]{0,11}", fullmatch=True) | st.text(
    st.characters(categories=("L", "N")), min_size=1, max_size=8
)
FORMATS: dict[str, st.SearchStrategy[str]] = {
    "page-token": st.just(""),
    # A relative artifact folder ("" is the root), as the document's ArtifactDirPath says.
    "artifact-path": st.builds(
        lambda segments, slash: "/".join(segments) + (slash if segments else ""),
        st.lists(_SEGMENT, max_size=4),
        st.sampled_from(["", "/"]),
    ),
    "mlflow-model-json": st.builds(
        lambda path, run_id: json.dumps(
            {
                "artifact_path": path,
                "flavors": {"python_function": {}},
                "utc_time_created": "2026-01-01 00:00:00.000000",
                "run_id": run_id,
            }
        ),
        _WORD,
        st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    ),
    "mlflow-run-filter": _filter(_RUN_CLAUSE),
    "mlflow-experiment-filter": _filter(_NAME_CLAUSE | _TAG_CLAUSE),
    "mlflow-registered-model-filter": _filter(_NAME_CLAUSE | _TAG_CLAUSE),
    "mlflow-model-version-filter": _filter(
        _NAME_CLAUSE | st.builds(lambda v: f"run_id = {_quoted(v)}", _WORD)
    ),
    "mlflow-logged-model-filter": _filter(
        st.builds(lambda v: f"name = {_quoted(v)}", _TEXT)
        | st.builds(lambda k, n: f"metrics.{k} > {n}", _WORD, _NUMBER)
    ),
    "mlflow-run-order": st.builds(
        lambda kind, k, asc: f"{kind}.{k}{asc}",
        st.sampled_from(["metrics", "params", "tags"]),
        _WORD,
        _ASC,
    )
    | st.builds(
        lambda a, asc: f"attributes.{a}{asc}",
        st.sampled_from(["start_time", "end_time", "run_name", "status"]),
        _ASC,
    ),
    "mlflow-logged-model-order": st.sampled_from(
        ["name", "status", "model_type", "creation_timestamp", "last_updated_timestamp"]
    )
    | _WORD.map("metrics.".__add__),
    "mlflow-experiment-order": st.builds(
        lambda a, asc: a + asc,
        st.sampled_from(["name", "experiment_id", "creation_time", "last_update_time"]),
        _ASC,
    ),
    "mlflow-registered-model-order": st.builds(
        lambda a, asc: a + asc,
        st.sampled_from(["name", "last_updated_timestamp", "creation_timestamp"]),
        _ASC,
    ),
    "mlflow-model-version-order": st.builds(
        lambda a, asc: a + asc,
        st.sampled_from(["name", "version_number", "creation_timestamp"]),
        _ASC,
    ),
}


def register_formats() -> None:
    for name, strategy in FORMATS.items():
        schemathesis.openapi.format(name, strategy)


@dataclass
class Finding:
    check: str
    operation: str
    mode: str
    status: int
    error_code: str
    detail: str


@dataclass
class Tally:
    cases: int = 0
    findings: list[Finding] = field(default_factory=list)
    state_conflicts: int = 0
    ungenerated: list[str] = field(default_factory=list)

    def by_check(self) -> Counter[str]:
        return Counter(f.check for f in self.findings)

    def by_operation(self, check: str) -> Counter[str]:
        return Counter(f.operation for f in self.findings if f.check == check)


def _null_is_left_out(schema: dict[str, Any]) -> None:
    """The document's convention (its ``info.description``) written into a body's schema: an
    optional field may be ``null``, which is the field left out (proto3 JSON, as MLflow's server
    reads it). Without this, schemathesis takes ``{"run_name": null}`` for invalid data."""
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "object":
            _null_is_left_out(prop)
        if name not in required:
            schema["properties"][name] = {"anyOf": [prop, {"type": "null"}]}


def operations() -> list[Any]:
    """Every operation of the document. Without its ``security`` requirement: every case is
    sent with the live server's token (``run_operation``), so an ``Authorization`` header or
    cookie schemathesis generated (and, in negative mode, made invalid) would never reach the
    server, and a case whose only invalid part was that header would be judged as invalid data
    the server accepted."""
    register_formats()
    document = yaml.safe_load(OPENAPI.read_text("utf-8"))
    document.pop("security", None)
    for path_item in document["paths"].values():
        for method, operation in path_item.items():
            if method == "parameters":
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                _null_is_left_out(body["schema"])
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def _check_function(name: str) -> Callable[..., Any]:
    return getattr(schemathesis.checks, name)  # type: ignore[no-any-return]


def _error_code(response: Any) -> str:
    try:
        body = response.json()
    except Exception:
        return ""
    return str(body.get("error_code", "")) if isinstance(body, dict) else ""


def _request_text(case: Any) -> str:
    parts = []
    for name in ("path_parameters", "query", "body"):
        value = getattr(case, name, None)
        if value not in (None, {}) and not type(value).__name__.startswith("NotSet"):
            parts.append(f"{name}={json.dumps(value, default=str)[:300]}")
    return " ".join(parts)


def run_operation(
    operation: Any,
    *,
    url: str,
    token: str,
    examples: int,
    checks: Iterable[str],
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    session: requests.Session | None = None,
    tally: Tally | None = None,
) -> Tally:
    """Send ``examples`` cases of each mode for one operation; every check judges each answer
    on its own. Deterministic (derandomized) for a given document."""
    tally = tally if tally is not None else Tally()
    session = session or requests.Session()
    headers = {"Authorization": f"token {token}"}
    wanted = list(checks)

    for mode in modes:
        names = [
            n
            for n in wanted
            if (mode.is_negative and n in ("negative_data_rejection", "not_a_server_error"))
            or (mode.is_positive and n != "negative_data_rejection")
        ]
        if not names:
            continue
        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception as exc:  # e.g. no negative form of an operation without inputs
            tally.findings.append(
                Finding("strategy", operation.label, mode.value, 0, "", repr(exc)[:300])
            )
            continue

        send = _sender(
            strategy, examples, names, mode, operation.label, url, headers, session, tally
        )
        try:
            send()
        except (Unsatisfiable, FlakyStrategyDefinition):
            # schemathesis sends no path parameter holding "/": a greedy {artifact_path} that
            # must name a file in a run's folder (PUT, DELETE) cannot be generated.
            tally.ungenerated.append(f"{operation.label} ({mode.value})")
        except Exception as exc:  # a case that could not be generated or sent
            tally.findings.append(
                Finding("error", operation.label, mode.value, 0, "", repr(exc)[:300])
            )
    return tally


def _sender(
    strategy: Any,
    examples: int,
    names: list[str],
    mode: GenerationMode,
    label: str,
    url: str,
    headers: dict[str, str],
    session: requests.Session,
    tally: Tally,
) -> Callable[[], None]:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def send(case: Any) -> None:
        response = case.call(base_url=url, session=session, headers=headers, timeout=30)
        tally.cases += 1
        code = _error_code(response)
        for name in names:
            try:
                case.validate_response(response, checks=[_check_function(name)])
            except (Exception, FailureGroup) as failure:  # one check's failures
                _record(tally, name, label, mode, response, code, failure, case)

    return send  # type: ignore[no-any-return]


def _record(
    tally: Tally,
    name: str,
    label: str,
    mode: GenerationMode,
    response: Any,
    code: str,
    failure: BaseException,
    case: Any,
) -> None:
    if name == "positive_data_acceptance" and (
        code in STATE_CONFLICT_CODES or STATE_CONFLICT_MESSAGE in response.text
    ):
        tally.state_conflicts += 1
        return
    title = str(failure).strip().split("\n", 1)[0]
    # A negative case's failure names what schemathesis made invalid ("Invalid component: ...").
    component: list[str] = []
    for inner in getattr(failure, "exceptions", None) or [failure]:
        for line in str(getattr(inner, "message", "")).splitlines():
            line = line.strip()
            if line.startswith("Invalid component") or (component and line.startswith("- ")):
                component.append(line)
    detail = " ".join([title, *component])
    detail += " | " + response.text[:200]
    tally.findings.append(
        Finding(
            name,
            label,
            mode.value,
            response.status_code,
            code,
            detail + " | " + _request_text(case),
        )
    )


def run_all(
    url: str, token: str, examples: int, checks: Iterable[str], only: Iterable[str] = ()
) -> Tally:
    """Every operation (or those whose label contains one of ``only``)."""
    tally = Tally()
    session = requests.Session()
    wanted = list(only)
    for operation in operations():
        if wanted and not any(w in operation.label for w in wanted):
            continue
        run_operation(
            operation,
            url=url,
            token=token,
            examples=examples,
            checks=checks,
            session=session,
            tally=tally,
        )
    return tally


def report(tally: Tally, examples: int, seconds: float) -> str:
    lines = [
        f"{examples} examples per operation and mode, {tally.cases} cases sent, "
        f"{seconds:.0f} s; state conflicts (400 RESOURCE_ALREADY_EXISTS/INVALID_STATE on valid "
        f"data, not counted as failures): {tally.state_conflicts}",
        f"operations schemathesis could not generate a case for: {tally.ungenerated or 'none'}",
        "failures per check:",
    ]
    by_check = tally.by_check()
    for name in (*ALL_CHECKS, "strategy", "error"):
        if by_check.get(name) or name in ALL_CHECKS:
            lines.append(f"  {name:30} {by_check.get(name, 0)}")
    for name in sorted(by_check):
        lines.append(f"{name} per operation:")
        for label, count in tally.by_operation(name).most_common():
            sample = next(f for f in tally.findings if f.check == name and f.operation == label)
            lines.append(f"  {count:5}  {label}  [{sample.status} {sample.error_code}]")
            lines.append(f"         e.g. {sample.detail[:400]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--checks", nargs="*", default=list(ALL_CHECKS))
    parser.add_argument("--url", help="a running server's tracking URI (.../labtrack)")
    parser.add_argument("--token", default="")
    parser.add_argument("--json", type=Path, help="write every finding here")
    parser.add_argument(
        "--only", nargs="*", default=[], help="operations whose label contains one of these"
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.url:
        tally = run_all(args.url, args.token, args.examples, args.checks, args.only)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from live_server import start_live_server

        with tempfile.TemporaryDirectory(prefix="openapi-deep-") as tmp:
            servers = start_live_server(Path(tmp))
            live = next(servers)
            try:
                tally = run_all(live.url, live.token, args.examples, args.checks, args.only)
            finally:
                servers.close()
    print(report(tally, args.examples, time.monotonic() - started))
    if args.json:
        args.json.write_text(json.dumps([f.__dict__ for f in tally.findings], indent=1))
    return 1 if tally.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
