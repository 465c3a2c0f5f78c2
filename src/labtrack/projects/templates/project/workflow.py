"""The whole pipeline: each step is a project run of its own, nested under this one, and reads
what the previous step logged (its run id is passed on as a parameter)."""

import argparse

import labtrack as lt

parser = argparse.ArgumentParser()
parser.add_argument("--n-samples", type=int, default=500)
parser.add_argument("--model-name", required=True)
args = parser.parse_args()

with lt.start_run() as parent:
    # Steps run in the environment this workflow was started with.
    env = lt.get_run(parent.info.run_id).data.tags.get("mlflow.project.env", "local")

    def step(entry_point: str, **parameters) -> str:
        submitted = lt.projects.run(
            ".", entry_point, parameters, env_manager=env, run_name=entry_point
        )
        return submitted.run_id

    data = step("ingest", n_samples=args.n_samples)
    split = step("split", data_run_id=data)
    train = step("train", split_run_id=split)
    evaluate = step("evaluate", split_run_id=split, train_run_id=train)
    step("register", train_run_id=train, evaluate_run_id=evaluate, model_name=args.model_name)
