"""Artifacts made from Python objects: figures, images, tables and streams (MLflow's
``log_figure``, ``log_image``, ``log_table``, ``load_table``, ``log_stream``), and ``Image``.

Mixed into ``TrackingClient``; the fluent functions call these with the active run. pandas,
numpy, PIL and the plotting libraries are imported only when one of these is called.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

from labtrack.errors import LabtrackException, invalid

if TYPE_CHECKING:
    from labtrack.entities import PagedList, Run

# MLflow's run tags: which tables a run logged (``load_table`` finds runs by it) and whether it
# logged step images (the UI's image view).
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
LOGGED_IMAGES_TAG = "mlflow.loggedImages"
IMAGES_FOLDER = "images"
_IMAGE_KEY = re.compile(r"^[A-Za-z0-9_\-./ ]+$")


class Image:
    """An image for ``log_image`` (MLflow's ``mlflow.Image``): from a PIL image, a numpy array
    or nested lists, or a path to an image file."""

    def __init__(self, image: Any) -> None:
        PILImage = _pil_module()

        if isinstance(image, (str, os.PathLike)):
            with PILImage.open(image) as opened:
                opened.load()
                self.image = opened.copy()
        elif hasattr(image, "save") and hasattr(image, "mode"):
            self.image = image.copy()
        else:
            self.image = PILImage.fromarray(_uint8_array(image))

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.image.size)

    def to_pil(self) -> Any:
        return self.image.copy()

    def to_array(self) -> Any:
        import numpy as np

        return np.array(self.image)

    def to_list(self) -> list[Any]:
        return list(self.to_array().tolist())

    def resize(self, size: tuple[int, int]) -> Image:
        return Image(self.image.resize(size))

    def save(self, path: str | os.PathLike[str]) -> None:
        self.image.save(path)


def _uint8_array(image: Any) -> Any:
    """An HxW, HxWx1, HxWx3 or HxWx4 uint8 array; floats must lie in [0, 1] (MLflow's rule)."""
    import numpy as np

    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise invalid(f"Unsupported image shape {arr.shape}: HxW, HxWx1, HxWx3 or HxWx4.")
    if arr.dtype.kind == "f":
        if arr.size and (np.nanmin(arr) < 0 or np.nanmax(arr) > 1):
            raise invalid("Float images must have values in [0, 1].")
        arr = (arr * 255).round().astype(np.uint8)
    elif arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise invalid("Integer images must have values in [0, 255].")
        arr = arr.astype(np.uint8)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.uint8) * 255
    else:
        raise invalid(f"Unsupported image dtype {arr.dtype}.")
    return arr.squeeze(axis=2) if arr.ndim == 3 and arr.shape[2] == 1 else arr


def _pil_module() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:  # as MLflow, images are written with Pillow
        raise LabtrackException(
            "Logging images needs Pillow: pip install pillow", "INVALID_PARAMETER_VALUE"
        ) from None
    return PILImage


def _pil_image(image: Any) -> Any:
    if isinstance(image, Image):
        return image.image
    if hasattr(image, "save") and hasattr(image, "mode"):
        return image
    PILImage = _pil_module()

    return PILImage.fromarray(_uint8_array(image))


def _image_format(artifact_file: str) -> str:
    ext = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else "png"
    return {"jpg": "JPEG", "tif": "TIFF"}.get(ext, ext.upper())


def image_bytes(image: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    pil = _pil_image(image)
    if fmt == "JPEG" and pil.mode in ("RGBA", "LA", "P"):
        pil = pil.convert("RGB")
    pil.save(buf, format=fmt)
    return buf.getvalue()


def table_frame(data: Any) -> Any:
    """``log_table``'s input as a DataFrame: a dict of columns or a DataFrame."""
    import pandas as pd

    if isinstance(data, dict):
        return pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        return data
    raise invalid("log_table expects a dict of columns or a pandas DataFrame.")


def logged_artifacts(run: Run) -> list[dict[str, Any]]:
    """The run's ``mlflow.loggedArtifacts`` entries (``{"path", "type"}``)."""
    try:
        value = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    except ValueError:
        return []
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


class _Client(Protocol):
    """What these methods need of the client they are mixed into."""

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None: ...

    def log_artifact(
        self, run_id: str, local_path: str, artifact_path: str | None = None
    ) -> None: ...

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None: ...

    def get_run(self, run_id: str) -> Run: ...

    def set_tag(self, run_id: str, key: str, value: Any) -> None: ...

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: Any = ...,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: str | None = None
    ) -> str: ...


class ArtifactFileMethods:
    """``TrackingClient`` methods that turn Python objects into run artifacts."""

    # ---- figures and images ---------------------------------------------------------------

    def log_figure(
        self: _Client,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """A matplotlib, plotly or Altair figure; the format follows the file extension
        (plotly: ``.html`` is the interactive page; Altair: ``.json`` is its Vega-Lite spec)."""
        kind = type(figure).__module__.split(".")[0]
        ext = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else ""
        if kind == "matplotlib":
            buf = io.BytesIO()
            figure.savefig(buf, format=ext or "png", **(save_kwargs or {}))
            self.log_bytes(run_id, buf.getvalue(), artifact_file)
        elif kind == "plotly":
            if ext == "html":
                # Plotly's HTML embeds its library, so the file also works offline.
                self.log_text(run_id, figure.to_html(include_plotlyjs=True), artifact_file)
            else:
                self.log_bytes(run_id, figure.to_image(format=ext), artifact_file)
        elif kind == "altair":
            if ext == "json":
                self.log_text(run_id, figure.to_json(), artifact_file)
            else:
                buf = io.BytesIO()
                figure.save(buf, format=ext)
                self.log_bytes(run_id, buf.getvalue(), artifact_file)
        else:
            raise invalid(f"log_figure supports matplotlib, plotly and Altair figures, not {kind}.")

    def log_image(
        self: _Client,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """An image (PIL, numpy array, ``Image``) as the file ``artifact_file``, or, with
        ``key`` (and ``step``), as one step of an image series:
        ``images/<key>+step+<s>+timestamp+<t>+<uuid>`` PNG, a compressed WebP thumbnail and a
        JSON description, plus the run tag ``mlflow.loggedImages``."""
        del synchronous  # artifacts are always written before returning
        if artifact_file is not None and (
            key is not None or step is not None or timestamp is not None
        ):
            raise TypeError(
                "The `artifact_file` parameter cannot be used with `key`, `step` or `timestamp`."
            )
        if artifact_file is not None:
            self.log_bytes(run_id, image_bytes(image, _image_format(artifact_file)), artifact_file)
            return
        if key is None:
            raise TypeError("log_image needs either `artifact_file` or `key`.")
        if not _IMAGE_KEY.match(key):
            raise invalid(
                f"Invalid image key {key!r}: only letters, digits, '_', '-', '.', '/' and spaces."
            )
        step = int(step or 0)
        timestamp = int(timestamp) if timestamp is not None else time.time_ns() // 1_000_000
        # MLflow's layout with '+' for its '%' separators: '%<hex><hex>' (e.g. '%1733...' of
        # the timestamp) decodes to a control character, which the artifact path rules refuse.
        stem = f"{key.replace('/', '#')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4().hex}"
        pil = _pil_image(image)
        thumb = pil.copy()
        thumb.thumbnail((256, 256))
        with tempfile.TemporaryDirectory(prefix="labtrack-") as tmp:
            pil.save(os.path.join(tmp, f"{stem}.png"), format="PNG")
            thumb.save(os.path.join(tmp, f"{stem}+compressed.webp"), format="WEBP")
            meta = {
                "filepath": f"{IMAGES_FOLDER}/{stem}.png",
                "compressed_filepath": f"{IMAGES_FOLDER}/{stem}+compressed.webp",
                "key": key,
                "step": step,
                "timestamp": timestamp,
            }
            with open(os.path.join(tmp, f"{stem}.json"), "w", encoding="utf-8") as f:
                json.dump(meta, f)
            for name in sorted(os.listdir(tmp)):
                self.log_artifact(run_id, os.path.join(tmp, name), IMAGES_FOLDER)
        self.set_tag(run_id, LOGGED_IMAGES_TAG, "true")

    # ---- tables ---------------------------------------------------------------------------

    def log_table(self: _Client, run_id: str, data: Any, artifact_file: str) -> None:
        """A dict of columns or a DataFrame, stored as MLflow stores it (JSON
        ``{"columns": [...], "data": [[...]]}``), and named in the run tag
        ``mlflow.loggedArtifacts`` so ``load_table`` finds it."""
        if not artifact_file.endswith(".json"):
            raise invalid("log_table writes JSON: artifact_file must end with .json.")
        frame = table_frame(data)
        text = frame.to_json(orient="split", index=False, default_handler=str)
        self.log_text(run_id, text, artifact_file)
        logged = logged_artifacts(self.get_run(run_id))
        entry = {"path": artifact_file, "type": "table"}
        if entry not in logged:
            logged.append(entry)
            self.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(logged))

    def load_table(
        self: _Client,
        experiment_id: str,
        artifact_file: str,
        run_ids: Sequence[str] | None = None,
        extra_columns: Sequence[str] | None = None,
    ) -> Any:
        """The table ``artifact_file`` of every run of the experiment that logged it (or of
        ``run_ids``), concatenated into one DataFrame; ``extra_columns`` names run attributes
        (``run_id``, ``run_name``...) to add as columns."""
        import pandas as pd

        wanted = {"path": artifact_file, "type": "table"}
        runs: list[Run] = []
        token = None
        while True:
            page = self.search_runs([str(experiment_id)], "", max_results=1000, page_token=token)
            runs.extend(r for r in page.items if wanted in logged_artifacts(r))
            token = page.token
            if not token:
                break
        if run_ids is not None:
            keep = set(run_ids)
            runs = [r for r in runs if r.info.run_id in keep]
        if not runs:
            raise LabtrackException(
                f"No runs found with the table artifact {artifact_file!r}.",
                "RESOURCE_DOES_NOT_EXIST",
            )
        frames = []
        for run in runs:
            tmp = tempfile.mkdtemp(prefix="labtrack-table-")
            try:
                local = self.download_artifacts(run.info.run_id, artifact_file, tmp)
                with open(local, encoding="utf-8") as f:
                    doc = json.load(f)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            frame = pd.DataFrame(doc.get("data", []), columns=doc.get("columns"))
            for column in extra_columns or ():
                if not hasattr(run.info, column):
                    raise invalid(f"extra_columns: runs have no attribute {column!r}.")
                frame[column] = getattr(run.info, column)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    # ---- streams --------------------------------------------------------------------------

    def log_stream(self: _Client, run_id: str, stream: IO[bytes], artifact_file: str) -> None:
        """The bytes of a binary file-like object (read to its end) as ``artifact_file``."""
        name = os.path.basename(artifact_file)
        if not name:
            raise invalid(f"Invalid artifact_file {artifact_file!r}: name a file.")
        folder = os.path.dirname(artifact_file) or None
        with tempfile.TemporaryDirectory(prefix="labtrack-") as tmp:
            local = os.path.join(tmp, name)
            with open(local, "wb") as f:
                while chunk := stream.read(1 << 20):
                    if isinstance(chunk, str):
                        raise invalid("log_stream expects a binary stream (opened with 'rb').")
                    f.write(chunk)
            self.log_artifact(run_id, local, folder)
