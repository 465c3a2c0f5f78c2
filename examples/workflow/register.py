"""Register the model if the evaluation reached the minimum accuracy."""

import sys

import labtrack as lt

train_run_id, evaluate_run_id, model_name, min_accuracy = sys.argv[1:5]
accuracy = lt.get_run(evaluate_run_id).data.metrics["test_accuracy"]
with lt.start_run():
    if accuracy >= float(min_accuracy):
        version = lt.register_model(f"runs:/{train_run_id}/model", model_name)
        lt.set_tag("registered", f"{model_name} v{version.version}")
    else:
        lt.set_tag("registered", f"no: accuracy {accuracy:.3f} < {min_accuracy}")
