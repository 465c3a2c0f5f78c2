"""Make a small classification data set and log it as data/data.npz."""

import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification

import labtrack as lt

X, y = make_classification(n_samples=int(sys.argv[1]), n_features=6, random_state=0)
with lt.start_run(), tempfile.TemporaryDirectory() as tmp:
    np.savez(Path(tmp) / "data.npz", X=X, y=y)
    lt.log_artifact(str(Path(tmp) / "data.npz"), "data")
    lt.log_metric("rows", len(X))
