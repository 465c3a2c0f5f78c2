"""Step 3: fit the model on the training split and log it."""

import argparse

from common import load_arrays, make_model, score

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--split-run-id", required=True)
parser.add_argument("--regularization", type=float, default=1.0)
args = parser.parse_args()

train = load_arrays(args.split_run_id, "train")
model = make_model(args.regularization).fit(train["X"], train["y"])

with lt.start_run():
    lt.log_metrics(
        {f"train_{k}": v for k, v in score(train["y"], model.predict(train["X"])).items()}
    )
    lt.sklearn.log_model(model, name="model", input_example=train["X"][:3])
