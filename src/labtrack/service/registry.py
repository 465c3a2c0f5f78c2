"""The model registry rules, written once for the REST handlers and the in-process client.

Validation (names, aliases, tags, versions, sources, links) and limits live here; the store keeps
the integrity that needs the database (unique names, gap-free version numbers, stages).

Model version sources are checked so that a registered version can only point at places a
client may legitimately load from: ``mlflow-artifacts:`` paths and local paths inside this
store's artifact root, ``models:/`` and ``runs:/`` URIs, or remote storage URIs (``s3://``,
``gs://``, ``https://`` ...), never with ``..`` segments. Run links must be http(s) or relative,
so a UI rendering them cannot be handed a ``javascript:`` URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from labtrack.artifact_store.paths import clean_relpath
from labtrack.artifact_store.uris import SCHEME as ARTIFACTS_SCHEME
from labtrack.artifact_store.uris import uri_scheme, uri_to_relpath
from labtrack.entities import ModelVersion, PagedList, RegisteredModel
from labtrack.entities import validation as v
from labtrack.errors import LabtrackException, invalid, not_found
from labtrack.store.registry_store import RegistryStore, canonical_stage

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService

MAX_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_USER_LENGTH = 256
MAX_SOURCE_LENGTH = 4096
MAX_RUN_LINK_LENGTH = 4096
MAX_VERSION = 2**31 - 1
SEARCH_REGISTERED_MODELS_DEFAULT = 100
SEARCH_REGISTERED_MODELS_MAX = 1000
SEARCH_MODEL_VERSIONS_DEFAULT = 10_000
SEARCH_MODEL_VERSIONS_MAX = 200_000

_MODEL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
# Schemes whose path names a place in remote storage the client fetches from itself. Not
# http(s): MLflow clients send the tracking token to an http(s) artifact host.
_REMOTE_SCHEMES = frozenset(
    {
        "s3",
        "gs",
        "wasbs",
        "wasb",
        "abfss",
        "abfs",
        "hdfs",
        "viewfs",
        "dbfs",
        "oci",
        "ftp",
        "sftp",
        "uc",
    }
)


def _name(name: object) -> str:
    v.validate_registered_model_name(name)
    assert isinstance(name, str)
    if len(name) > MAX_NAME_LENGTH:
        raise invalid(
            f"Registered model name exceeds the maximum length of {MAX_NAME_LENGTH} characters."
        )
    return name


def _version(version: object) -> int:
    """A version number from an int or its string form (``"3"``)."""
    if isinstance(version, bool):
        raise invalid(f"Parameter 'version' must be an integer, got {version!r}.")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and re.fullmatch(r"\s*[+-]?\d{1,20}\s*", version):
        number = int(version)
    else:
        raise invalid(f"Parameter 'version' must be an integer, got {version!r}.")
    return number


def _optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"Parameter '{field}' must be a string, got {value!r}.")
    return value


def _tags(tags: dict[str, str] | None) -> dict[str, str]:
    return {
        v.validate_key("tag", k): v.validate_tag_value(k, val) for k, val in (tags or {}).items()
    }


def _check_no_dotdot(path: str, source: str) -> None:
    form = path
    for _ in range(4):
        if ".." in form.replace("\\", "/").split("/"):
            raise invalid(f"Invalid model version source {source!r}: '..' is not allowed.")
        decoded = unquote(form)
        if decoded == form:
            return
        form = decoded
    raise invalid(f"Invalid model version source {source!r}: too much percent-encoding.")


# A segment that starts like a URI ("file:", "S3:"): no place inside a run or a model.
_SEGMENT_SCHEME = re.compile(r"(^|/)[A-Za-z][A-Za-z0-9+.-]*:")


def _check_uri_path(rest: str, source: str) -> None:
    """The path of a ``runs:/`` or ``models:/`` source obeys the artifact path rules (no
    backslash, control character, look-alike of '.' or '/', broken percent-encoding, absolute
    or empty segment) and holds no URI of its own, in any of its percent-decoded forms."""
    try:
        clean_relpath(rest)
    except LabtrackException as exc:
        raise invalid(f"Invalid model version source {source!r}: {exc.message}") from None
    if source.split(":", 1)[1].startswith("//"):
        raise invalid(f"Invalid model version source {source!r}: no host part is allowed.")
    form = rest
    for _ in range(4):
        if _SEGMENT_SCHEME.search(form):
            raise invalid(f"Invalid model version source {source!r}: a URI inside the URI.")
        if "//" in form or form.startswith("/"):
            raise invalid(f"Invalid model version source {source!r}: an absolute path inside.")
        decoded = unquote(form)
        if decoded == form:
            return
        form = decoded


class RegistryService:
    """Registered models, versions, stages, tags and aliases (MLflow's semantics)."""

    def __init__(self, tracking_service: TrackingService) -> None:
        self.tracking = tracking_service
        self.store = RegistryStore(tracking_service.store)

    # ---- checks -------------------------------------------------------------------------

    def _source(self, source: object) -> str:
        if not isinstance(source, str) or not source.strip():
            raise invalid("Missing value for required parameter 'source'.")
        if len(source) > MAX_SOURCE_LENGTH:
            raise invalid(f"Model version source exceeds {MAX_SOURCE_LENGTH} characters.")
        if re.search(r"[\x00-\x1f\x7f]", source):
            raise invalid(f"Invalid model version source {source!r}: control characters.")
        scheme = uri_scheme(source)
        if scheme in ("models", "runs"):
            rest = source[len(scheme) + 1 :].lstrip("/")
            if not rest:
                raise invalid(f"Invalid model version source {source!r}.")
            _check_no_dotdot(rest, source)
            _check_uri_path(rest, source)
            return source
        if scheme in _REMOTE_SCHEMES:
            _check_no_dotdot(urlsplit(source).path, source)
            return source
        if scheme in ("", "file", ARTIFACTS_SCHEME):
            if scheme == "" and not source.startswith("/"):
                raise invalid(
                    f"Invalid model version source {source!r}: use an absolute path or a URI."
                )
            try:
                uri_to_relpath(source, self.tracking.artifact_root)
            except LabtrackException as exc:
                raise invalid(
                    f"Invalid model version source {source!r}: local sources must lie inside "
                    f"the artifact root of this store ({exc.message})."
                ) from None
            return source
        raise invalid(f"Invalid model version source {source!r}: unsupported scheme '{scheme}'.")

    @staticmethod
    def _run_link(link: object) -> str | None:
        link = _optional_text(link, "run_link")
        if not link:
            return None
        if len(link) > MAX_RUN_LINK_LENGTH:
            raise invalid(f"run_link exceeds {MAX_RUN_LINK_LENGTH} characters.")
        scheme = uri_scheme(link.strip())
        if scheme and scheme not in ("http", "https"):
            raise invalid(f"Invalid run_link {link!r}: only http(s) or relative links.")
        if re.search(r"[\x00-\x1f\x7f]", link):
            raise invalid(f"Invalid run_link {link!r}: control characters.")
        return link

    # ---- registered models --------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        viewer = self.tracking.viewer
        return self.store.create_registered_model(
            _name(name),
            _tags(tags),
            _optional_text(description, "description"),
            owner=viewer.principal.name if viewer else None,
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(_name(name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.store.rename_registered_model(_name(name), _name(new_name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return self.store.update_registered_model(
            _name(name), _optional_text(description, "description")
        )

    def delete_registered_model(self, name: str) -> None:
        self.store.delete_registered_model(_name(name))

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        v.validate_key("tag", key)
        self.store.set_registered_model_tag(_name(name), key, v.validate_tag_value(key, value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.store.delete_registered_model_tag(_name(name), v.validate_key("tag", key))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        limit = v.validate_max_results(
            SEARCH_REGISTERED_MODELS_DEFAULT if max_results is None else max_results,
            SEARCH_REGISTERED_MODELS_MAX,
        )
        return self.store.search_registered_models(
            filter_string, limit, order_by, page_token, self.tracking.viewer
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        return self.store.get_latest_versions(
            _name(name), [canonical_stage(st) for st in stages or []]
        )

    # ---- model versions -----------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        name = _name(name)
        clean_source = self._source(source)
        if run_id:
            v.validate_run_id(run_id)
        if model_id and (not isinstance(model_id, str) or not _MODEL_ID.match(model_id)):
            raise invalid(f"Invalid model id {model_id!r}.")
        user = _optional_text(user_id, "user_id") or None
        if user and len(user) > MAX_USER_LENGTH:
            raise invalid(f"user_id exceeds {MAX_USER_LENGTH} characters.")
        clean_source, run_id, model_id, storage_location = self._lineage(
            clean_source, run_id or None, model_id or None
        )
        return self.store.create_model_version(
            name,
            clean_source,
            run_id=run_id,
            tags=_tags(tags),
            run_link=self._run_link(run_link),
            description=_optional_text(description, "description"),
            user_id=user,
            model_id=model_id,
            storage_location=storage_location,
        )

    def _lineage(
        self, source: str, run_id: str | None, model_id: str | None
    ) -> tuple[str, str | None, str | None, str | None]:
        """(source, run id, model id, storage location) of a new version, as MLflow 3.17's
        server resolves them: ``models:/<model_id>`` names a logged model (the store reads its
        location); ``models:/<name>/<version|stage|latest>`` or ``models:/<name>@<alias>``
        (``copy_model_version``) is stored as ``models:/<name>/<version>`` and downloads from
        where that version downloads from, inheriting its run and logged model."""
        if uri_scheme(source) != "models":
            return source, run_id, model_id or self._model_at(source), None
        rest = source.split(":", 1)[1].lstrip("/")
        if "/" not in rest and "@" not in rest:
            if model_id and model_id != rest:
                raise invalid(
                    f"Invalid model version source {source!r}: the model_id parameter "
                    f"({model_id!r}) must name the logged model of the source."
                )
            if not _MODEL_ID.match(rest):
                raise invalid(f"Invalid model version source {source!r}.")
            return source, run_id, rest, None
        origin = self.resolve_model_uri(source)
        for field, given, inherited in (
            ("run_id", run_id, origin.run_id),
            ("model_id", model_id, origin.model_id),
        ):
            if given and given != (inherited or ""):
                raise invalid(
                    f"Invalid model version source {source!r}: the {field} parameter must "
                    "match the referenced model version."
                )
        storage = self.store.get_model_version_download_uri(origin.name, int(origin.version))
        return (
            f"models:/{origin.name}/{origin.version}",
            run_id or origin.run_id,
            model_id or origin.model_id,
            storage or None,
        )

    def _model_at(self, source: str) -> str | None:
        """The logged model whose artifact folder holds ``source`` (a version registered from
        the model's location belongs to the model, as one from ``models:/<id>`` does)."""
        try:
            rel = uri_to_relpath(source, self.tracking.artifact_root)
        except LabtrackException:
            return None
        found = re.fullmatch(r"(?:.+/)?models/(m-[0-9a-f]{32})/artifacts(?:/.*)?", rel)
        if found is None:
            return None
        try:
            model = self.tracking.logged_models.get_logged_model(found.group(1))
        except LabtrackException:
            return None
        folder = uri_to_relpath(model.artifact_location)
        return model.model_id if rel == folder or rel.startswith(folder + "/") else None

    def _lookup(self, name: str, version: object) -> tuple[str, int]:
        name, number = _name(name), _version(version)
        if not 1 <= number <= MAX_VERSION:
            raise not_found(f"Model Version (name={name}, version={number}) not found")
        return name, number

    def get_model_version(self, name: str, version: object) -> ModelVersion:
        return self.store.get_model_version(*self._lookup(name, version))

    def update_model_version(
        self, name: str, version: object, description: str | None
    ) -> ModelVersion:
        return self.store.update_model_version(
            *self._lookup(name, version), _optional_text(description, "description")
        )

    def transition_model_version_stage(
        self, name: str, version: object, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        stage = canonical_stage(stage)
        return self.store.transition_model_version_stage(
            *self._lookup(name, version), stage, bool(archive_existing_versions)
        )

    def delete_model_version(self, name: str, version: object) -> None:
        self.store.delete_model_version(*self._lookup(name, version))

    def get_model_version_download_uri(self, name: str, version: object) -> str:
        return self.store.get_model_version_download_uri(*self._lookup(name, version))

    def set_model_version_tag(self, name: str, version: object, key: str, value: object) -> None:
        v.validate_key("tag", key)
        value = v.validate_tag_value(key, value)
        self.store.set_model_version_tag(*self._lookup(name, version), key, value)

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        v.validate_key("tag", key)
        self.store.delete_model_version_tag(*self._lookup(name, version), key)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        limit = v.validate_max_results(
            SEARCH_MODEL_VERSIONS_DEFAULT if max_results is None else max_results,
            SEARCH_MODEL_VERSIONS_MAX,
        )
        return self.store.search_model_versions(
            filter_string, limit, order_by, page_token, self.tracking.viewer
        )

    # ---- aliases ------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: object) -> None:
        v.validate_alias(alias)
        if len(alias) > MAX_ALIAS_LENGTH:
            raise invalid(f"Alias exceeds the maximum length of {MAX_ALIAS_LENGTH} characters.")
        name, number = self._lookup(name, version)
        self.store.set_registered_model_alias(name, alias, number)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.store.delete_registered_model_alias(_name(name), self._alias_lookup(alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.store.get_model_version_by_alias(_name(name), self._alias_lookup(alias))

    @staticmethod
    def _alias_lookup(alias: object) -> str:
        if not isinstance(alias, str) or not alias:
            raise invalid("Missing value for required parameter 'alias'.")
        return alias

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest``
        or ``models:/<name>@<alias>`` -> the model version it names."""
        if not isinstance(uri, str) or not uri.startswith("models:/"):
            raise invalid(f"Not a models:/ URI: {uri!r}")
        rest = uri[len("models:/") :].strip("/")
        if "@" in rest and "/" not in rest:
            name, alias = rest.split("@", 1)
            return self.get_model_version_by_alias(name, alias)
        if rest.count("/") != 1:
            raise invalid(f"Invalid model URI {uri!r}: models:/<name>/<version|stage|latest>.")
        name, which = rest.split("/")
        if which.isdigit():
            return self.get_model_version(name, which)
        stages = [] if which.lower() == "latest" else [which]
        versions = self.get_latest_versions(name, stages)
        if not versions:
            raise not_found(f"No versions of model {name!r} in stage {which!r}.")
        return max(versions, key=lambda m: int(m.version))
