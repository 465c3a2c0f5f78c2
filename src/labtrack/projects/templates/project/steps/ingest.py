"""Step 1: make (or fetch) the raw data and log it as an artifact."""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import TASK

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--n-samples", type=int, default=500)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

if TASK == "classification":
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=args.n_samples, n_features=8, random_state=args.seed)
else:
    from sklearn.datasets import make_regression

    X, y = make_regression(
        n_samples=args.n_samples, n_features=8, noise=5.0, random_state=args.seed
    )

with lt.start_run():
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "data.npz", X=X, y=y)
        lt.log_artifact(str(Path(tmp) / "data.npz"))
    lt.log_metrics({"rows": len(X), "features": X.shape[1]})
