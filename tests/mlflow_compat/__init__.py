"""Compatibility tests: MLflow's own client (3.x and 2.x, each in its own virtualenv) against a
real ``jupyter server`` running the labtrack extension."""
