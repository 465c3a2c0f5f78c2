"""The scoring server behind ``labtrack models serve``: MLflow's protocol on tornado.

- ``GET /ping``, ``GET /health``: 200 once the model is loaded; ``GET /version``: labtrack's.
- ``POST /invocations`` with ``application/json`` holding exactly one of ``dataframe_split``,
  ``dataframe_records``, ``instances``, ``inputs`` (plus optional ``params``), or ``text/csv``;
  answers ``{"predictions": ...}``. Other content types: 415. Bad payloads and signature
  mismatches: 400 with ``{"error_code", "message"}``.

This runs in its own process (``labtrack models serve``), never in the Jupyter server: loading
a model runs its code.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from typing import Any

import tornado.web

from labtrack.errors import LabtrackException

log = logging.getLogger("labtrack.serve")

INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
MAX_BODY_BYTES = 100 * 1024 * 1024


class PayloadError(LabtrackException):
    def __init__(self, message: str) -> None:
        super().__init__(message, "BAD_REQUEST")


def _frame_from_split(split: Any, schema: Any) -> Any:
    import pandas as pd

    if not isinstance(split, Mapping) or "data" not in split:
        raise PayloadError(
            "'dataframe_split' must be an object with 'data' (and usually 'columns')."
        )
    data = split["data"]
    if not isinstance(data, list):
        raise PayloadError("'dataframe_split.data' must be a list of rows.")
    columns = split.get("columns")
    if (
        schema is not None
        and columns
        and "index" not in split
        and _all_double(schema, columns)
        and data
        and isinstance(data[0], list)
    ):
        # Fast path for all-double tables: one float64 block instead of per-cell parsing.
        import numpy as np

        try:
            block = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):
            pass  # strings, ragged rows ...: the general path reports them
        else:
            if block.ndim == 2 and block.shape[1] == len(columns):
                return pd.DataFrame(block, columns=columns, copy=False)
    try:
        return pd.DataFrame(data, columns=columns, index=split.get("index"))
    except (ValueError, TypeError, AssertionError) as exc:
        raise PayloadError(f"Cannot read 'dataframe_split' as a table: {exc}") from None


def _all_double(schema: Any, columns: list[Any]) -> bool:
    if not schema.inputs or schema.is_tensor or not schema.has_names:
        return False
    types = {s.name: s.type for s in schema.inputs}
    return all(types.get(c) == "double" for c in columns)


def _frame_from_records(records: Any) -> Any:
    import pandas as pd

    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise PayloadError("'dataframe_records' must be a list of objects (one per row).")
    return pd.DataFrame.from_records(records)


def _tensors(value: Any, schema: Any) -> Any:
    """``instances``/``inputs``: arrays (or a dict of them), or a table for column schemas."""
    import numpy as np
    import pandas as pd

    if schema is not None and schema.inputs and not schema.is_tensor:
        if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
            return pd.DataFrame.from_records(value)
        if isinstance(value, Mapping):
            try:
                return pd.DataFrame(
                    {k: v if isinstance(v, list) else [v] for k, v in value.items()}
                )
            except ValueError as exc:
                raise PayloadError(f"Cannot read the input as a table: {exc}") from None
        return value  # lists of rows: matched to the schema's columns by position
    if schema is not None and schema.is_tensor:
        return value  # converted to the declared dtypes by the signature
    if isinstance(value, Mapping):
        return {k: np.asarray(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
        # TF-serving "instances" as a list of named rows -> columns of arrays.
        keys = list(value[0])
        return {k: np.asarray([r.get(k) for r in value]) for k in keys}
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise PayloadError(f"Cannot read the input as an array: {exc}") from None


def parse_json_input(body: bytes, schema: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """(model input, params) from a JSON request body."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"Invalid JSON input: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError(
            "The input must be a JSON object with exactly one of the input fields "
            f"{list(INPUT_KEYS)}."
        )
    present = [k for k in INPUT_KEYS if k in payload]
    extra = [k for k in payload if k not in INPUT_KEYS and k != "params"]
    if len(present) != 1 or extra:
        raise PayloadError(
            "The input must be a JSON object with exactly one of the input fields "
            f"{list(INPUT_KEYS)} (and optionally 'params'). Received an object with fields: "
            f"{sorted(payload)}."
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise PayloadError("'params' must be a JSON object.")
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        data = _frame_from_split(value, schema)
    elif key == "dataframe_records":
        data = _frame_from_records(value)
    else:
        data = _tensors(value, schema)
    return data, params


def parse_csv_input(body: bytes) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(body))
    except Exception as exc:
        raise PayloadError(f"Cannot read the CSV input: {exc}") from None


def jsonable(value: Any) -> Any:
    """Predictions as JSON values (arrays -> lists, frames -> records)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso"))
    if isinstance(value, pd.Series):
        return json.loads(value.to_json(orient="values", date_format="iso"))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy().tolist()
    return value


class _Base(tornado.web.RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("Server", "labtrack")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        code = {
            400: "BAD_REQUEST",
            404: "ENDPOINT_NOT_FOUND",
            405: "BAD_REQUEST",
            413: "BAD_REQUEST",
            415: "BAD_REQUEST",
        }.get(status_code, "INTERNAL_ERROR")
        self.finish(json.dumps({"error_code": code, "message": self._reason}))


class PingHandler(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.finish("\n")


class VersionHandler(_Base):
    def get(self) -> None:
        # Not ``labtrack.__version__``: the package root loads the notebook integration.
        try:
            from labtrack._version import __version__ as version
        except ImportError:  # a source tree that was never built
            version = "0.0.0+unknown"
        self.set_header("Content-Type", "text/plain")
        self.finish(version)


class InvocationsHandler(_Base):
    def initialize(self, model: Any) -> None:
        self.model = model
        self.schema = model.metadata.get_input_schema()

    def _error(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error_code": code, "message": message}))

    def post(self) -> None:
        ctype = self.request.headers.get("Content-Type", "")
        mime = ctype.split(";", 1)[0].strip().lower()
        try:
            if mime == "application/json":
                data, params = parse_json_input(self.request.body, self.schema)
            elif mime == "text/csv":
                data, params = parse_csv_input(self.request.body), None
            else:
                self._error(
                    415,
                    "BAD_REQUEST",
                    f"Content type {ctype or '(none)'!r} is not supported: send "
                    "'application/json' (dataframe_split, dataframe_records, instances or "
                    "inputs) or 'text/csv'.",
                )
                return
            predictions = self.model.predict(data, params=params)
        except LabtrackException as exc:
            code = exc.error_code if exc.error_code != "INTERNAL_ERROR" else "BAD_REQUEST"
            self._error(400, code, exc.message)
            return
        except Exception as exc:
            log.exception("prediction failed")
            self._error(
                400,
                "BAD_REQUEST",
                f"Failed to predict with the model: {type(exc).__name__}: {exc}",
            )
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"predictions": jsonable(predictions)}))


class NotFoundHandler(_Base):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(404, reason="Not found: /ping, /health, /version, /invocations")


def make_app(model: Any) -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/ping", PingHandler),
            (r"/health", PingHandler),
            (r"/version", VersionHandler),
            (r"/invocations", InvocationsHandler, {"model": model}),
        ],
        default_handler_class=NotFoundHandler,
    )


def serve(
    model_uri: str,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    ready: Any = None,
) -> None:
    """Load the model and serve it until interrupted (``workers`` > 1 forks processes that
    share the listening socket; each loads the model itself)."""
    import asyncio

    import tornado.httpserver
    import tornado.netutil
    import tornado.process

    from labtrack.models.uris import download_model
    from labtrack.pyfunc import load_local

    local = download_model(model_uri)  # once, in the parent: the children read the files
    sockets = tornado.netutil.bind_sockets(port, address=host)
    if workers > 1:
        tornado.process.fork_processes(workers, max_restarts=100)
    model = load_local(local)

    async def main() -> None:
        server = tornado.httpserver.HTTPServer(
            make_app(model), max_body_size=MAX_BODY_BYTES, xheaders=False
        )
        server.add_sockets(sockets)
        actual = sockets[0].getsockname()[1]
        log.info("serving %s on http://%s:%s", model_uri, host, actual)
        print(f"labtrack: serving {model_uri} on http://{host}:{actual}", flush=True)
        if ready is not None:
            ready(actual)
        await asyncio.Event().wait()

    asyncio.run(main())
