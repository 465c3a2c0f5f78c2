"""Shared by the client scripts (run with an mlflow virtualenv's interpreter, not pytest's)."""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

MARKER = "@@LABTRACK-RESULT@@"


def args():
    return json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}


def emit(out):
    """Print the result as one marked JSON line (mlflow may print other things)."""
    sys.stdout.write("\n" + MARKER + json.dumps(out, default=str) + "\n")
    sys.stdout.flush()


def error_code(fn, *a, **kw):
    """The MLflow error code ``fn`` fails with (None if it succeeds)."""
    try:
        fn(*a, **kw)
    except Exception as exc:
        return getattr(exc, "error_code", type(exc).__name__)
    return None


def major():
    import mlflow

    return int(mlflow.__version__.split(".")[0])
