"""Score the train step's model on the test set it held out."""

import sys

import numpy as np

import labtrack as lt

train_run_id = sys.argv[1]
model = lt.sklearn.load_model(f"runs:/{train_run_id}/model")
with np.load(lt.MlflowClient().download_artifacts(train_run_id, "data/test.npz")) as test:
    accuracy = float((model.predict(test["X"]) == test["y"]).mean())
with lt.start_run():
    lt.log_metric("test_accuracy", accuracy)
