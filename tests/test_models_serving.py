"""``labtrack models serve``: MLflow's scoring protocol, errors, the CLI, and the rule that the
Jupyter server never loads a model."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.linear_model import LogisticRegression  # noqa: E402
from tornado.testing import AsyncHTTPTestCase  # noqa: E402

import labtrack as lt  # noqa: E402
from labtrack.models.serving import make_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
X = pd.DataFrame({"a": [0.0, 1, 0, 1, 2, -1], "b": [0.0, 1, 1, 0, 2, -1]})
Y = [0, 1, 0, 1, 1, 0]
CLF = LogisticRegression().fit(X, Y)
EXPECTED = CLF.predict(X).tolist()


class Scale(lt.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return np.asarray(model_input) * (params or {}).get("factor", 1.0)


def _json(resp) -> dict:
    return json.loads(resp.body)


class ScoringTableModel(AsyncHTTPTestCase):
    """A scikit-learn model with a column signature."""

    tmp: str = ""

    @classmethod
    def setUpClass(cls) -> None:
        import tempfile

        cls.tmp = tempfile.mkdtemp(prefix="lt-serve-")
        lt.sklearn.save_model(CLF, f"{cls.tmp}/m", input_example=X.head(2))
        cls.model = lt.pyfunc.load_model(f"{cls.tmp}/m")

    def get_app(self):
        return make_app(self.model)

    def post(self, body, ctype: str = "application/json"):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.fetch("/invocations", method="POST", body=data, headers={"Content-Type": ctype})

    def test_ping_health_version(self) -> None:
        assert self.fetch("/ping").code == 200
        assert self.fetch("/health").code == 200
        version = self.fetch("/version")
        assert version.code == 200
        assert version.body.decode() == lt.__version__
        missing = self.fetch("/nope")
        assert missing.code == 404
        assert _json(missing)["error_code"] == "ENDPOINT_NOT_FOUND"

    def test_every_request_format(self) -> None:
        split = json.loads(X.to_json(orient="split", index=False))
        records = X.to_dict(orient="records")
        for body in (
            {"dataframe_split": split},
            {"dataframe_records": records},
            {"instances": records},
            {"inputs": records},
            {"inputs": X.values.tolist()},
            {"inputs": {"a": X["a"].tolist(), "b": X["b"].tolist()}},
        ):
            resp = self.post(body)
            assert resp.code == 200, (body, resp.body)
            assert _json(resp) == {"predictions": EXPECTED}
        csv = self.post(X.to_csv(index=False), "text/csv")
        assert _json(csv) == {"predictions": EXPECTED}
        charset = self.post({"dataframe_split": split}, "application/json; charset=utf-8")
        assert charset.code == 200
        ints = self.post({"dataframe_records": [{"a": 1, "b": 1}]})  # int -> double is safe
        assert _json(ints) == {"predictions": [1]}

    def test_unsupported_content_type_is_415(self) -> None:
        for ctype in ("text/plain", "application/x-www-form-urlencoded", ""):
            resp = self.post(b"a,b\n1,2\n", ctype)
            assert resp.code == 415, ctype
            assert _json(resp)["error_code"] == "BAD_REQUEST"
            assert "application/json" in _json(resp)["message"]

    def test_bad_payloads_are_400_with_mlflow_errors(self) -> None:
        cases = [
            (b"{not json", "Invalid JSON"),
            (b"[1, 2]", "exactly one of"),
            ({"inputs": [[1, 2]], "instances": [[1, 2]]}, "exactly one of"),
            ({"data": [[1, 2]]}, "exactly one of"),
            ({"dataframe_split": {"columns": ["a", "b"]}}, "dataframe_split"),
            ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2, 3]]}}, "table"),
            ({"dataframe_records": {"a": 1}}, "list of objects"),
            ({"inputs": [[1.0, 2.0]], "params": [1]}, "params"),
        ]
        for body, fragment in cases:
            resp = self.post(body)
            assert resp.code == 400, (body, resp.body)
            err = _json(resp)
            assert err["error_code"] == "BAD_REQUEST"
            assert fragment in err["message"], (fragment, err)

    def test_signature_mismatches_are_400(self) -> None:
        resp = self.post({"dataframe_records": [{"a": 1.0}]})
        assert resp.code == 400
        assert _json(resp) == {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": "Model is missing inputs ['b'].",
        }
        resp = self.post({"dataframe_records": [{"a": "x", "b": 1.0}]})
        assert resp.code == 400
        assert "column a" in _json(resp)["message"]
        resp = self.post(b"c\n1\n", "text/csv")
        assert resp.code == 400
        assert "missing inputs" in _json(resp)["message"]


class ScoringTensorModel(AsyncHTTPTestCase):
    """A custom model with a tensor signature and params."""

    @classmethod
    def setUpClass(cls) -> None:
        import tempfile

        tmp = tempfile.mkdtemp(prefix="lt-serve-")
        sig = lt.models.infer_signature(np.zeros((2, 3), dtype=np.float32), params={"factor": 1.0})
        lt.pyfunc.save_model(f"{tmp}/m", python_model=Scale(), signature=sig)
        cls.model = lt.pyfunc.load_model(f"{tmp}/m")

    def get_app(self):
        return make_app(self.model)

    def post(self, body):
        return self.fetch(
            "/invocations",
            method="POST",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    def test_tensor_inputs_and_params(self) -> None:
        rows = [[1, 2, 3], [4, 5, 6]]
        assert _json(self.post({"inputs": rows})) == {"predictions": rows}
        assert _json(self.post({"instances": rows, "params": {"factor": 2}})) == {
            "predictions": [[2, 4, 6], [8, 10, 12]]
        }

    def test_tensor_mismatches(self) -> None:
        resp = self.post({"inputs": [[1, 2]]})
        assert resp.code == 400
        assert "Shape of input" in _json(resp)["message"]
        resp = self.post({"inputs": [["a", "b", "c"]]})
        assert resp.code == 400
        assert "float32" in _json(resp)["message"]
        resp = self.post({"inputs": [[1, 2, 3]], "params": {"factor": "big"}})
        assert resp.code == 400
        assert "param 'factor'" in _json(resp)["message"]


# ---- the command line -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    env["PYTHONPATH"] = SRC
    env.update(extra)
    return env


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_serves_a_registered_model_by_alias(tmp_path: Path, workers: int) -> None:
    store = str(tmp_path / "store")
    setup = f"""
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        import labtrack as lt
        lt.set_tracking_uri({store!r})
        X = pd.DataFrame({{"a": [0.0, 1, 0, 1, 2, -1], "b": [0.0, 1, 1, 0, 2, -1]}})
        clf = LogisticRegression().fit(X, [0, 1, 0, 1, 1, 0])
        with lt.start_run():
            lt.sklearn.log_model(clf, name="model", registered_model_name="served",
                                 input_example=X.head(2))
        lt.MlflowClient().set_registered_model_alias("served", "champion", 1)
    """
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(setup)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labtrack.cli", "models", "serve", "-m",
             "models:/served@champion", "--port", str(port), "--workers", str(workers)],
            env=_env(LABTRACK_TRACKING_URI=store),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except (OSError, urllib.error.URLError):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        body = json.dumps({"dataframe_split": json.loads(X.to_json(orient="split", index=False))})
        for _ in range(4):
            req = urllib.request.Request(
                f"{base}/invocations",
                data=body.encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert json.loads(resp.read()) == {"predictions": EXPECTED}
        req = urllib.request.Request(
            f"{base}/invocations", data=b"x", headers={"Content-Type": "text/plain"}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 415
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_cli_keeps_its_other_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", "--help"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    for command in ("lab", "info", "models"):
        assert command in out.stdout
    info = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", "info"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert info.returncode == 0
    assert "tracking URI" in info.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", "models", "serve", "-m", str(ROOT / "nothing")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0
    assert "No model at" in bad.stderr


# ---- models are never loaded by the Jupyter server --------------------------------------

_MODEL_MODULES = ("labtrack.models", "labtrack.pyfunc", "labtrack.sklearn", "labtrack.pytorch")
_FORBIDDEN_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(labtrack\.(?:models|pyfunc|sklearn|pytorch)\b|labtrack\s+import\s+"
    r"(?:models|pyfunc|sklearn|pytorch)\b|pickle\b|cloudpickle\b|joblib\b|torch\b|sklearn\b|"
    r"skops\b)",
    re.MULTILINE,
)


def test_server_code_does_not_import_model_loading() -> None:
    offenders = []
    for path in sorted((ROOT / "src" / "labtrack" / "server").rglob("*.py")):
        for match in _FORBIDDEN_IMPORT.finditer(path.read_text()):
            offenders.append(f"{path.name}: {match.group(0).strip()}")
        text = path.read_text()
        if re.search(r"__import__|import_module\(|\blt\.(pyfunc|sklearn|pytorch)\b", text):
            offenders.append(f"{path.name}: dynamic import")
    # The one dynamic import: the route table's own modules.
    offenders.remove("routes.py: dynamic import")
    assert offenders == []
    from labtrack.server.routes import ROUTE_MODULES

    assert all(name.startswith("labtrack.server.") for name in ROUTE_MODULES)


def test_server_process_never_loads_model_code() -> None:
    """Import every server module, build the app's routes and serve registry calls in-process;
    no model-loading module is ever imported."""
    code = f"""
        import importlib, json, pkgutil, sys, tempfile
        import labtrack.server as server
        for mod in pkgutil.walk_packages(server.__path__, "labtrack.server."):
            importlib.import_module(mod.name)
        from labtrack.server import routes
        from labtrack.client.tracking_client import TrackingClient
        tmp = tempfile.mkdtemp()
        c = TrackingClient("sqlite:///" + tmp + "/db.sqlite", tmp + "/art")
        c.create_registered_model("m")
        c.create_model_version("m", "mlflow-artifacts:/0/r/artifacts/model")
        c.get_model_version_download_uri("m", 1)
        c.set_registered_model_alias("m", "champion", 1)
        loaded = [m for m in {(*_MODEL_MODULES, "sklearn", "torch", "cloudpickle", "skops")!r}
                  if m in sys.modules]
        print(json.dumps(loaded))
    """
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []
