"""Read the ingest step's data, hold out a test set, fit and log the model and the test set."""

import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import labtrack as lt

data_run_id, C = sys.argv[1], float(sys.argv[2])
with np.load(lt.MlflowClient().download_artifacts(data_run_id, "data/data.npz")) as data:
    X, y = data["X"], data["y"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

with lt.start_run(), tempfile.TemporaryDirectory() as tmp:
    model = LogisticRegression(C=C, max_iter=500).fit(X_train, y_train)
    lt.log_metric("train_accuracy", model.score(X_train, y_train))
    lt.sklearn.log_model(model, name="model", input_example=X_train[:3])
    np.savez(Path(tmp) / "test.npz", X=X_test, y=y_test)
    lt.log_artifact(str(Path(tmp) / "test.npz"), "data")
