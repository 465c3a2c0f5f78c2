"""Step 5: register the model when the evaluation passed its gate."""

import argparse

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--train-run-id", required=True)
parser.add_argument("--evaluate-run-id", required=True)
parser.add_argument("--model-name", required=True)
args = parser.parse_args()

with lt.start_run():
    passed = lt.get_run(args.evaluate_run_id).data.tags.get("passed") == "true"
    if passed:
        version = lt.register_model(f"runs:/{args.train_run_id}/model", args.model_name)
        lt.set_tag("registered_version", version.version)
    else:
        lt.set_tag("registered_version", "none: the evaluation did not pass")
