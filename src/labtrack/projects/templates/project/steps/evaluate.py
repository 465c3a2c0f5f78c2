"""Step 4: score the trained model on the test split."""

import argparse

from common import GATE, load_arrays, score

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--split-run-id", required=True)
parser.add_argument("--train-run-id", required=True)
args = parser.parse_args()

test = load_arrays(args.split_run_id, "test")
model = lt.sklearn.load_model(f"runs:/{args.train_run_id}/model")
metrics = score(test["y"], model.predict(test["X"]))

with lt.start_run():
    lt.log_metrics({f"test_{k}": v for k, v in metrics.items()})
    metric, threshold = GATE
    lt.set_tag("passed", str(metrics[metric] >= threshold).lower())
