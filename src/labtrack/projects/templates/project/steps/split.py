"""Step 2: split the ingested data into train and test sets."""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import load_arrays
from sklearn.model_selection import train_test_split

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--data-run-id", required=True)
parser.add_argument("--test-fraction", type=float, default=0.25)
args = parser.parse_args()

data = load_arrays(args.data_run_id, "data")
parts = train_test_split(data["X"], data["y"], test_size=args.test_fraction, random_state=0)
X_train, X_test, y_train, y_test = parts

with lt.start_run():
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "train.npz", X=X_train, y=y_train)
        np.savez(Path(tmp) / "test.npz", X=X_test, y=y_test)
        lt.log_artifacts(tmp)
    lt.log_metrics({"train_rows": len(X_train), "test_rows": len(X_test)})
