"""A corpus of hostile paths, URIs and locations (``tests/data/hostile_paths.json``, 280
payloads: traversal in single, double and triple percent-encoding, overlong UTF-8, Unicode dot
and slash look-alikes, backslashes, drive letters, NUL and control characters, absolute and
sibling-prefix paths, schemes in any case, symlinks planted in the store) sent to every route
and field that takes one: the artifact routes (upload, download, delete, list; at the root and
inside a run), ``experiments/create`` ``artifact_location``, ``model-versions/create``
``source`` (as given, and inside ``runs:/`` and ``models:/`` URIs). Canary files wait outside
the artifact root. Every answer must be a 4xx in MLflow's error shape; nothing outside the root
may change or be read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, json_of

ART = "api/2.0/mlflow-artifacts/artifacts"
M = "api/2.0/mlflow"
CORPUS = json.loads((Path(__file__).parent / "data" / "hostile_paths.json").read_text())["corpus"]
# Printable ASCII goes into a URL as the corpus spells it; the rest is percent-encoded as UTF-8.
_REMOTE_BY_DESIGN = ("ftp://",)
_CLIMBING = {"traversal", "control/NUL", "unicode look-alike"}
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "?#")


def test_the_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 200
    kinds = {c["kind"].split(",")[0] for c in CORPUS}
    assert kinds >= {
        "traversal",
        "absolute",
        "backslash",
        "control/NUL",
        "scheme",
        "unicode look-alike",
        "symlink planted in the store",
    }


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        h.update(str(p).encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def world(fetch: Fetch, labtrack_paths: dict[str, Path]) -> dict[str, Any]:
    """A run with an artifact, symlinks to the outside planted in its folder, canary files."""
    eid = json_of(fetch(f"{M}/experiments/create", "POST", json_body={"name": "hostile"}))[
        "experiment_id"
    ]
    run_id = json_of(fetch(f"{M}/runs/create", "POST", json_body={"experiment_id": eid}))["run"][
        "info"
    ]["run_id"]
    run_rel = f"{eid}/{run_id}/artifacts"
    assert fetch(f"{ART}/{run_rel}/real.txt", "PUT", b"fine").code == 200
    root, outside = labtrack_paths["artifact_root"], labtrack_paths["outside"]
    run_dir = root / run_rel
    (run_dir / "link-out").symlink_to(outside)
    (run_dir / "link-etc").symlink_to("/etc")
    (run_dir / "link-file").symlink_to(outside / "secret.txt")
    # A sibling whose name starts with the root's: a prefix check would let it through.
    sibling = root.parent / f"{root.name}-evil"
    sibling.mkdir()
    (sibling / "x").write_text("top secret")
    for name in ("artifact-root2",):
        (root.parent / name).mkdir(exist_ok=True)
    assert fetch(f"{M}/registered-models/create", "POST", json_body={"name": "hm"}).code == 200
    return {
        "eid": eid,
        "run_id": run_id,
        "run_rel": run_rel,
        "root": root,
        "outside": outside,
        "watched": root.parent,
    }


def _fill(payload: str, w: dict[str, Any]) -> str:
    return (
        payload.replace("{ROOT_NAME}", w["root"].name)
        .replace("{ROOT}", str(w["root"]))
        .replace("{OUTSIDE}", str(w["outside"]))
        .replace("{RUN}", w["run_rel"])
    )


def _refused(r: Any, what: str, failures: list[str]) -> None:
    """Note ``what`` in ``failures`` unless ``r`` is a 4xx in MLflow's error shape that
    reveals no canary."""
    if not 400 <= r.code < 500:
        failures.append(f"{what}: {r.code} {r.body[:120]!r}")
    elif b"top secret" in r.body or b"root:" in r.body:
        failures.append(f"{what}: leaked a canary")
    elif r.body and not set(json_of(r)) >= {"error_code", "message"}:
        failures.append(f"{what}: not MLflow's error shape")


def _outside_digest(w: dict[str, Any]) -> str:
    """Everything beside the artifact root (canaries, the sibling folder, the store)."""
    return "".join(
        _tree_digest(p) + p.name
        for p in sorted(w["watched"].iterdir())
        if p != w["root"] and p.name != "store"
    )


def test_artifact_routes_refuse_every_hostile_path(fetch: Fetch, world: dict[str, Any]) -> None:
    before = _outside_digest(world)
    inside_before = _tree_digest(world["root"])
    failures: list[str] = []
    for entry in CORPUS:
        payload = _fill(entry["payload"], world)
        url_path = quote(payload, safe=_URL_SAFE)
        prefixes = [ART + "/"]
        # Inside a run's folder, '/etc/passwd' or 'C:' are plain names; what must still be
        # refused there is what climbs out or confuses: '..', backslashes, controls,
        # look-alikes, broken encodings.
        if entry["kind"].split(",")[0] in _CLIMBING:
            prefixes.append(f"{ART}/{world['run_rel']}/")
        for prefix in prefixes:
            for method, body in (("PUT", b"PAYLOAD"), ("GET", None), ("DELETE", None)):
                r = fetch(prefix + url_path, method, body)
                _refused(r, f"{method} {prefix}{payload!r} ({entry['kind']})", failures)
        r = fetch(f"{ART}?path={quote(payload, safe='')}")
        _refused(r, f"list {payload!r} ({entry['kind']})", failures)
    assert failures == [], f"{len(failures)} not refused:\n" + "\n".join(failures[:40])
    assert _outside_digest(world) == before
    assert _tree_digest(world["root"]) == inside_before
    assert (world["outside"] / "secret.txt").read_text() == "top secret"


def test_location_and_source_fields_refuse_every_hostile_value(
    fetch: Fetch, world: dict[str, Any]
) -> None:
    before = _outside_digest(world)
    failures: list[str] = []
    for i, entry in enumerate(CORPUS):
        if entry["kind"] == "symlink planted in the store":
            continue
        value = _fill(entry["payload"], world)
        r = fetch(
            f"{M}/experiments/create",
            "POST",
            json_body={"name": f"hostile-{i}", "artifact_location": value},
        )
        _refused(r, f"artifact_location {value!r} ({entry['kind']})", failures)
        sources = [f"runs:/{world['run_id']}/{value}", f"models:/{value}"]
        # ftp:// is a remote store the client reads itself (no credentials go there): a
        # version's source may name one, as in MLflow.
        if not value.startswith(_REMOTE_BY_DESIGN):
            sources.append(value)
        for source in sources:
            r = fetch(
                f"{M}/model-versions/create",
                "POST",
                json_body={"name": "hm", "source": source, "run_id": world["run_id"]},
            )
            _refused(r, f"source {source!r} ({entry['kind']})", failures)
    assert failures == [], f"{len(failures)} not refused:\n" + "\n".join(failures[:400])
    assert _outside_digest(world) == before
