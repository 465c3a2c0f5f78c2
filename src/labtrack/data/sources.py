"""Where a dataset came from: MLflow's dataset sources, as JSON a run's input records.

Each source has MLflow's ``source_type`` and JSON shape, so the MLflow UI and client read what
labtrack logs and ``get_source`` rebuilds the object from a logged input:

- ``local``: a path or ``file://`` URI, ``{"uri": ...}``;
- ``http``: an ``http(s)://`` URL, ``{"url": ...}``;
- another URI scheme (``s3``, ``gs``, ``hf``...): ``{"uri": ...}``, the scheme as the type;
- ``code``: no source given, so the code that built the dataset (notebook or script),
  ``{"tags": {"mlflow.source.name": ..., "mlflow.source.type": ...}}``.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from labtrack.entities import system_tags
from labtrack.errors import invalid


class DatasetSource:
    """A dataset's origin: a ``source_type`` and a JSON-serializable description."""

    source_type: str = "unknown"

    def __init__(self, description: Mapping[str, Any], source_type: str | None = None) -> None:
        self._description = dict(description)
        if source_type is not None:
            self.source_type = source_type

    def _get_source_type(self) -> str:
        # MLflow's name for it; ``lt.log_input`` reads it from any source object.
        return self.source_type

    def to_dict(self) -> dict[str, Any]:
        return dict(self._description)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @property
    def uri(self) -> str | None:
        value = self._description.get("uri", self._description.get("url"))
        return None if value is None else str(value)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DatasetSource)
            and other.source_type == self.source_type
            and other.to_dict() == self.to_dict()
        )

    def __hash__(self) -> int:
        return hash((self.source_type, self.to_json()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


class LocalArtifactDatasetSource(DatasetSource):
    source_type = "local"

    def __init__(self, uri: str) -> None:
        super().__init__({"uri": uri})


class HTTPDatasetSource(DatasetSource):
    source_type = "http"

    def __init__(self, url: str) -> None:
        super().__init__({"url": url})

    @property
    def url(self) -> str:
        return str(self._description["url"])


class URIDatasetSource(DatasetSource):
    """Any other storage URI (``s3://``, ``gs://``...); the scheme is the source type."""

    def __init__(self, uri: str, source_type: str | None = None) -> None:
        super().__init__({"uri": uri}, source_type or urlparse(uri).scheme or "unknown")


class CodeDatasetSource(DatasetSource):
    """The notebook or script that built the dataset (MLflow's default source)."""

    source_type = "code"

    def __init__(self, tags: Mapping[str, str]) -> None:
        super().__init__({"tags": dict(tags)})

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._description["tags"])


def _code_tags() -> dict[str, str]:
    """The active run's source tags when there is one (they name the notebook), else the
    script being run: cheap, and enough to tell where a dataset was built."""
    from labtrack.client import fluent as lt

    run = lt.active_run()
    if run is not None:
        wanted = (system_tags.SOURCE_NAME, system_tags.SOURCE_TYPE, system_tags.USER)
        return {k: v for k, v in run.data.tags.items() if k in wanted}
    tags: dict[str, str] = {}
    with contextlib.suppress(Exception):  # no user name in some containers
        tags[system_tags.USER] = getpass.getuser()
    tags[system_tags.SOURCE_TYPE] = "NOTEBOOK" if "ipykernel" in sys.modules else "LOCAL"
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main:
        tags[system_tags.SOURCE_NAME] = os.path.abspath(main)
    return tags


def resolve_source(source: Any) -> DatasetSource:
    """A source object from what a user passes: a source, a path, a URI or None (the code)."""
    if isinstance(source, DatasetSource):
        return source
    if source is None:
        return CodeDatasetSource(_code_tags())
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise invalid(
            f"A dataset source is a path, a URI or a DatasetSource, not {type(source).__name__}."
        )
    scheme = urlparse(source).scheme.lower()
    # One-letter schemes are Windows drive letters, i.e. local paths.
    if scheme in ("", "file") or len(scheme) == 1:
        return LocalArtifactDatasetSource(source)
    if scheme in ("http", "https"):
        return HTTPDatasetSource(source)
    return URIDatasetSource(source)


def source_from_json(source_type: str, source_json: str) -> DatasetSource:
    """Rebuild a logged source (the ``source_type`` and ``source`` of a run input)."""
    try:
        description = json.loads(source_json) if source_json else {}
    except ValueError as exc:
        raise invalid(f"The dataset source is not JSON: {source_json!r}.") from exc
    if not isinstance(description, dict):
        raise invalid(f"The dataset source is not a JSON object: {source_json!r}.")
    if source_type == "local" and "uri" in description:
        return LocalArtifactDatasetSource(str(description["uri"]))
    if source_type == "http" and "url" in description:
        return HTTPDatasetSource(str(description["url"]))
    if source_type == "code" and isinstance(description.get("tags"), dict):
        return CodeDatasetSource(description["tags"])
    if "uri" in description and len(description) == 1:
        return URIDatasetSource(str(description["uri"]), source_type)
    return DatasetSource(description, source_type)  # an unknown type, kept as logged
