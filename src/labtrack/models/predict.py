"""``lt.models.predict`` (``labtrack models predict``) and the serving-input helpers MLflow
users call before deploying: ``convert_input_example_to_serving_input``,
``validate_serving_input``, ``validate_schema``.

Predictions run in this Python environment (``env_manager="local"``): labtrack does not build
per-model environments for scoring.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from labtrack.errors import LabtrackException, invalid

_LOCAL = "local"


def _check_env_manager(env_manager: str | None) -> None:
    if env_manager not in (None, _LOCAL):
        raise invalid(
            f"env_manager={env_manager!r} is not supported: labtrack scores models in the "
            "current environment; use env_manager='local' (install the model's "
            "requirements.txt first, e.g. with `labtrack models prepare-env`)."
        )


def _read_input(
    model: Any, input_data: Any, input_path: str | None, content_type: str
) -> tuple[Any, dict[str, Any] | None]:
    from labtrack.models.serving import parse_csv_input, parse_json_input

    if content_type not in ("json", "csv"):
        raise invalid(f"Invalid content_type {content_type!r}: 'json' or 'csv'.")
    if (input_data is None) == (input_path is None):
        raise invalid("Give exactly one of input_data or input_path.")
    if input_path is not None:
        with open(input_path, "rb") as f:
            body = f.read()
    elif isinstance(input_data, (str, bytes)):
        body = input_data.encode() if isinstance(input_data, str) else input_data
    else:
        # Python data (a DataFrame, an array, a dict): scored as it is.
        return input_data, None
    schema = model.metadata.get_input_schema() if hasattr(model, "metadata") else None
    if content_type == "csv":
        return parse_csv_input(body), None
    return parse_json_input(body, schema)


def predict(
    model_uri: str,
    input_data: Any = None,
    input_path: str | None = None,
    content_type: str = "json",
    output_path: str | None = None,
    env_manager: str | None = _LOCAL,
    install_mlflow: bool = False,
    pip_requirements_override: list[str] | None = None,
    extra_envs: dict[str, str] | None = None,
) -> None:
    """Score ``input_data`` (or the file ``input_path``: a serving payload in JSON, or CSV)
    with the model and write ``{"predictions": ...}`` as JSON to ``output_path`` (stdout if
    omitted), as MLflow's ``mlflow.models.predict`` does."""
    del install_mlflow
    _check_env_manager(env_manager)
    if pip_requirements_override:
        raise invalid(
            "pip_requirements_override needs a separate environment; install the packages "
            "and use env_manager='local'."
        )
    from labtrack.models.serving import jsonable
    from labtrack.pyfunc import load_model

    os.environ.update(extra_envs or {})
    model = load_model(model_uri)
    data, params = _read_input(model, input_data, input_path, content_type)
    result = model.predict(data, params=params) if params else model.predict(data)
    text = json.dumps({"predictions": jsonable(result)})
    if output_path:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")


def convert_input_example_to_serving_input(input_example: Any) -> str | None:
    """The JSON body the scoring server takes for ``input_example``: ``dataframe_split`` for a
    DataFrame, ``inputs`` for arrays, lists, dicts and scalars; ``(example, params)`` adds
    ``params``. None for None."""
    if input_example is None:
        return None
    params = None
    if isinstance(input_example, tuple) and len(input_example) == 2:
        input_example, params = input_example
    import numpy as np
    import pandas as pd

    from labtrack.models.serving import jsonable

    payload: dict[str, Any]
    if isinstance(input_example, pd.Series):
        input_example = input_example.to_frame()
    if isinstance(input_example, pd.DataFrame):
        split = json.loads(input_example.to_json(orient="split", date_format="iso"))
        split.pop("index", None)
        payload = {"dataframe_split": split}
    elif isinstance(input_example, dict):
        payload = {
            "inputs": {
                k: jsonable(np.asarray(v)) if isinstance(v, (list, np.ndarray)) else jsonable(v)
                for k, v in input_example.items()
            }
        }
    else:
        payload = {"inputs": jsonable(input_example)}
    if params:
        payload["params"] = params
    return json.dumps(payload)


def validate_serving_input(model_uri: str, serving_input: str | dict[str, Any]) -> Any:
    """Score a serving payload (what ``convert_input_example_to_serving_input`` returns, or
    what a client would POST to ``/invocations``) with the model, the way the scoring server
    parses it; returns the predictions or raises what the server would answer with."""
    from labtrack.models.serving import PayloadError, parse_json_input
    from labtrack.pyfunc import load_model

    body = serving_input if isinstance(serving_input, str) else json.dumps(serving_input)
    model = load_model(model_uri)
    try:
        data, params = parse_json_input(body.encode(), model.metadata.get_input_schema())
    except PayloadError as exc:
        raise LabtrackException(exc.message, "INVALID_PARAMETER_VALUE") from None
    return model.predict(data, params=params) if params else model.predict(data)


def validate_schema(data: Any, expected_schema: Any) -> None:
    """Raise ``MlflowException`` if ``data`` does not satisfy ``expected_schema`` (a
    ``Schema``), with the rules the model's ``predict`` enforces."""
    from labtrack.models.signature import enforce_schema

    try:
        enforce_schema(data, expected_schema)
    except LabtrackException as exc:
        raise LabtrackException(
            f"Failed to enforce schema of data '{data!r:.200}' with schema "
            f"'{expected_schema!r:.200}'. Error: {exc.message}",
            "INVALID_PARAMETER_VALUE",
        ) from None
