"""Run with an mlflow 3.x interpreter: what a token without access gets from the service."""

import json

import mlflow

try:
    mlflow.set_experiment("no-access")
except Exception as exc:
    print("@@RESULT@@" + json.dumps({"error": str(exc)[:500]}))
else:
    print("@@RESULT@@{}")
