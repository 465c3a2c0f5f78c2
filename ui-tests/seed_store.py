"""Seed a fresh labtrack store for the UI tests.

Run with LABTRACK_TRACKING_URI (and LABTRACK_ARTIFACT_ROOT) pointing at the
store the test server reads. Uses only labtrack's public Python API.
"""

import struct
import tempfile
import time
import zlib
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression

import labtrack as lt

# Strings that would run script if a view ever rendered them as HTML.
XSS_IMG = '<img src=x onerror="window.__xss=1;alert(1)">'
XSS_SCRIPT = "<script>window.__xss=2;alert(2)</script>"


def png(width: int, height: int) -> bytes:
    """A small RGB gradient PNG (no imaging library needed)."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


lt.set_experiment("ui-demo")
with lt.start_run(run_name="r1") as run:
    lt.log_param("lr", 0.1)
    lt.log_param("optimizer", "adam")
    for step in range(1, 51):
        lt.log_metric(
            "loss", 0.5 / step**0.5 if step > 2 else (0.5 if step == 1 else 0.25), step=step
        )
    # The latest loss must stay 0.25 for the runs-table tests: log it last at the top step.
    lt.log_metric("loss", 0.25, step=51)
    lt.log_metric("accuracy", 0.875, step=2)
    lt.set_tag("team", "vision")
    lt.set_tag("mlflow.note.content", "# Baseline\n\nThe **first** run, with `lr=0.1`.")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "curve.png").write_bytes(png(96, 64))
        (root / "metrics.csv").write_text("epoch,loss,accuracy\n1,0.5,0.6\n2,0.25,0.875\n")
        (root / "report.html").write_text(
            "<html><body><h1>Report</h1><p id=p>static</p>"
            "<script>try{parent.window.__xss=3}catch(e){}"
            "document.getElementById('p').textContent='script ran sandboxed'</script>"
            "</body></html>"
        )
        model_dir = root / "model"
        model_dir.mkdir()
        (model_dir / "MLmodel").write_text(
            "artifact_path: model\nflavors:\n  python_function:\n"
            "    loader_module: labtrack.pyfunc\n"
        )
        (model_dir / "requirements.txt").write_text("scikit-learn\n")
        lt.log_artifacts(str(root))
    lt.log_dict({"layers": [64, 32], "dropout": 0.1}, "config.json")
    lt.log_text("training finished\n", "logs/train.log")
    # An MLflow 3 logged model of the run (signature and input example inferred).
    iris = pd.DataFrame({"sepal_length": [5.1, 4.9, 6.2, 5.9], "petal_width": [0.2, 0.2, 1.8, 2.1]})
    lt.sklearn.log_model(
        LogisticRegression().fit(iris, [0, 0, 1, 1]), name="iris-clf", input_example=iris.head(2)
    )
    r1_id = run.info.run_id
time.sleep(0.05)  # distinct start times: the dashboard lists newest first
with lt.start_run(run_name="r2"):
    lt.log_param("lr", 0.01)
    lt.log_param("optimizer", "adam")
    lt.log_metric("loss", 0.9, step=0)
    lt.log_metric("loss", 0.75, step=1)
    lt.log_metric("accuracy", 0.625, step=1)

lt.set_experiment("ui-other")
with lt.start_run(run_name="other-run"):
    lt.log_metric("loss", 1.0, step=1)

# XSS payloads everywhere a user-controlled string is shown.
lt.set_experiment("ui-xss")
with lt.start_run(run_name=XSS_IMG):
    lt.log_param("payload", XSS_SCRIPT)
    lt.log_metric("loss", 0.3, step=1)
    lt.set_tag("t", XSS_IMG)
    lt.set_tag("mlflow.note.content", f"note {XSS_IMG} {XSS_SCRIPT} [x](javascript:alert(3))")
    lt.log_text(XSS_IMG, "a<img src=x onerror=alert(4)>.txt")

# More runs than one page of any list: the counts shown must still be exact.
lt.set_experiment("ui-paging")
for i in range(1005):
    with lt.start_run(run_name=f"p{i}"):
        pass

# Nested runs: a sweep (the parent, started first) with three trials, one of
# which has a child of its own.
lt.set_experiment("ui-sweep")
with lt.start_run(run_name="sweep"):
    lt.log_param("search", "grid")
    # Enough parameters that the column picker must show a long list.
    lt.log_params(
        {
            "batch_size": 64,
            "dropout": 0.1,
            "epochs": 20,
            "momentum": 0.9,
            "optimizer": "sgd",
            "seed": 7,
            "warmup_steps": 100,
            "weight_decay": 0.0001,
        }
    )
    lt.log_metric("loss", 0.15, step=0)
    for i in range(3):
        time.sleep(0.02)
        with lt.start_run(run_name=f"trial-{i}", nested=True):
            lt.log_param("lr", 10.0**-i)
            lt.log_metric("loss", round(0.3 - 0.1 * i, 3), step=0)
            if i == 1:
                time.sleep(0.02)
                with lt.start_run(run_name="trial-1-fold-0", nested=True):
                    lt.log_metric("loss", 0.25, step=0)

# The registry: a model registered from r1's model folder, with an alias.
client = lt.TrackingClient()
client.create_registered_model("ui-model", description="The *demo* model.")
version = client.create_model_version(
    "ui-model", source=f"{lt.get_run(r1_id).info.artifact_uri}/model", run_id=r1_id
)
client.set_registered_model_alias("ui-model", "champion", version.version)

# Evaluated runs: two classifiers scored by lt.evaluate on the same eval dataset (metrics,
# Vega-Lite charts, the predictions table), with their training and eval datasets as inputs.
lt.set_experiment("ui-validation")
features = pd.DataFrame(
    {
        "x1": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.65, 0.15, 0.95, 0.5, 0.3],
        "x2": [1.0, 0.8, 0.9, 0.2, 0.1, 0.7, 0.3, 0.4, 0.95, 0.05, 0.5, 0.6],
    }
)
labels = [0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0]
train = lt.data.from_pandas(features.assign(y=labels), source="data/train.csv", name="toy-train")
evaluation = features.assign(y=labels)
for name, c in (("eval-strong", 1.0), ("eval-weak", 0.01)):
    time.sleep(0.05)
    with lt.start_run(run_name=name):
        lt.log_param("C", c)
        lt.log_input(train, context="training")
        clf = LogisticRegression(C=c).fit(features, labels)
        info = lt.sklearn.log_model(clf, name="clf")
        lt.evaluate(
            info.model_uri,
            lt.data.from_pandas(evaluation, source="data/eval.csv", name="toy-eval", targets="y"),
            targets="y",
            model_type="classifier",
        )
        if name == "eval-strong":
            # A PNG-only plot (lt.evaluate writes PNG twins of its charts when matplotlib is
            # installed; this machine has none, so the run page's PNG path gets this one).
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "lift_curve.png").write_bytes(png(96, 64))
                lt.log_artifact(str(Path(tmp) / "lift_curve.png"))

# A grid search (compare view's box and contour plots): lr x depth, a text param, a score
# logged over epochs; one run lacks depth (left out of the contour, "(not set)" in boxes).
lt.set_experiment("ui-grid")
for lr in (0.001, 0.01, 0.1):
    for depth in (2, 4, 8):
        time.sleep(0.01)
        with lt.start_run(run_name=f"g-{lr}-{depth}"):
            lt.log_params({"lr": lr, "depth": depth, "optimizer": "adam" if depth < 8 else "sgd"})
            final = round(0.5 + 0.1 * (lr * 10 + depth / 4), 4)
            for epoch in range(5):
                lt.log_metric("score", round(final - 0.05 * (4 - epoch), 4), step=epoch)
with lt.start_run(run_name="g-no-depth"):
    lt.log_params({"lr": 0.05, "optimizer": "adam"})
    lt.log_metric("score", 0.6, step=0)
