"""Artifact storage: one store interface over fsspec, with path safety in one place."""

from labtrack.artifact_store.paths import clean_relpath, join_relpath, resolve_local
from labtrack.artifact_store.store import ArtifactStore, ArtifactWriter, FileInfo
from labtrack.artifact_store.uris import (
    SCHEME,
    experiment_artifact_uri,
    logged_model_artifact_uri,
    run_artifact_uri,
    uri_to_relpath,
)

__all__ = [
    "SCHEME",
    "ArtifactStore",
    "ArtifactWriter",
    "FileInfo",
    "clean_relpath",
    "experiment_artifact_uri",
    "join_relpath",
    "logged_model_artifact_uri",
    "resolve_local",
    "run_artifact_uri",
    "uri_to_relpath",
]
