"""Chain the steps: each gets the run id of the step it reads from."""

import argparse

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--model-name", required=True)
parser.add_argument("--min-accuracy", type=float, required=True)
args = parser.parse_args()

with lt.start_run() as workflow:
    env = lt.get_run(workflow.info.run_id).data.tags.get("mlflow.project.env", "local")

    def step(name: str, **params) -> str:
        return lt.projects.run(".", name, params, env_manager=env, run_name=name).run_id

    data = step("ingest")
    train = step("train", data_run_id=data)
    evaluate = step("evaluate", train_run_id=train)
    step(
        "register",
        train_run_id=train,
        evaluate_run_id=evaluate,
        model_name=args.model_name,
        min_accuracy=args.min_accuracy,
    )
