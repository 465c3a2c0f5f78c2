"""Write MLflow's non-GenAI public API names, one ``namespace:name`` a line.

Run with an mlflow venv's Python (``.compat/mlflow3/bin/python tests/mlflow_compat/
list_mlflow_api.py > tests/mlflow_compat/mlflow_api_names.txt``); the list is committed so the
API-surface test needs no mlflow at run time.
"""

from __future__ import annotations

import importlib
import inspect
import re

NAMESPACES = [
    "mlflow",
    "mlflow.tracking",
    "mlflow.artifacts",
    "mlflow.models",
    "mlflow.pyfunc",
    "mlflow.sklearn",
    "mlflow.pytorch",
    "mlflow.data",
    "mlflow.projects",
]
# GenAI (traces, prompts, scorers, gateway, agents...) is out of scope for labtrack's drop-in.
GENAI = re.compile(
    r"trace|span|prompt|assessment|feedback|expectation|genai|gateway|deployment|judge|scorer"
    r"|agent|chat|llm|openai|anthropic|langchain|llama|dspy|label|webhook|session|evaluation_"
    r"dataset|dataset_record|conversation|otel|telemetry|mcp|guardrail|review|experiment_view"
    r"|_budget|secret|endpoint|route|issue",
    re.IGNORECASE,
)
# Databricks-, Spark- and multi-workspace-specific names: no equivalent outside Databricks.
PLATFORM = re.compile(
    r"databricks|dbconnect|dbr_|spark|nfs|workspace|delta|login|^test$", re.IGNORECASE
)


def public_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:  # no __all__: what the module defines itself, not what it imports
        prefix = module.__name__  # type: ignore[attr-defined]
        names = [
            n
            for n, v in vars(module).items()
            if (inspect.isfunction(v) or inspect.isclass(v))
            and getattr(v, "__module__", "").startswith(prefix)
        ]
    return sorted(
        n
        for n in set(names)
        if not n.startswith("_") and not GENAI.search(n) and not PLATFORM.search(n)
    )


def main() -> None:
    lines: set[str] = set()
    for ns in NAMESPACES:
        module = importlib.import_module(ns)
        for name in public_names(module):
            lines.add(f"{ns}:{name}")
    from mlflow import MlflowClient

    for name, _ in inspect.getmembers(MlflowClient, inspect.isfunction):
        if not name.startswith("_") and not GENAI.search(name) and not PLATFORM.search(name):
            lines.add(f"MlflowClient:{name}")
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    main()
