"""Scoring backends (MLflow's ``FlavorBackend``): what ``labtrack models predict``,
``prepare-env`` and ``serve`` do for a model, behind one interface.

labtrack has one backend, ``LocalPyFuncBackend``: it scores any package with a
``python_function`` flavor labtrack can load, in the current Python environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from abc import ABC, abstractmethod
from typing import IO, Any

from labtrack.models.model import PYFUNC, REQUIREMENTS_FILE, Model


class FlavorBackend(ABC):
    """Scores, prepares the environment of, and serves the models of one flavor."""

    def __init__(self, config: dict[str, Any], workers: int = 1, **kwargs: Any) -> None:
        self._config = config
        self._workers = workers

    @abstractmethod
    def predict(
        self, model_uri: str, input_path: str | None, output_path: str | None, content_type: str
    ) -> None:
        """Score the file ``input_path`` (stdin if None) and write ``{"predictions": ...}``."""

    @abstractmethod
    def prepare_env(
        self,
        model_uri: str,
        capture_output: bool = False,
        pip_requirements_override: list[str] | None = None,
    ) -> int:
        """Make the environment the model needs; the exit status of doing so."""

    @abstractmethod
    def serve(
        self,
        model_uri: str,
        port: int,
        host: str,
        timeout: int | None = None,
        enable_mlserver: bool = False,
        synchronous: bool = True,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> Any:
        """Serve the model over MLflow's scoring protocol."""

    @abstractmethod
    def can_score_model(self) -> bool:
        """Whether this backend can score the model it was made for, here."""

    def can_build_image(self) -> bool:
        return False

    def build_image(self, model_uri: str, image_name: str, **kwargs: Any) -> None:
        raise NotImplementedError("labtrack does not build container images.")

    def generate_dockerfile(self, model_uri: str, output_dir: str, **kwargs: Any) -> None:
        raise NotImplementedError("labtrack does not write Dockerfiles.")


class LocalPyFuncBackend(FlavorBackend):
    """The ``python_function`` flavor in the current environment (``env_manager="local"``)."""

    def predict(
        self, model_uri: str, input_path: str | None, output_path: str | None, content_type: str
    ) -> None:
        from labtrack.models.predict import predict

        if input_path is None:
            predict(
                model_uri,
                input_data=sys.stdin.buffer.read(),
                content_type=content_type,
                output_path=output_path,
            )
        else:
            predict(
                model_uri, input_path=input_path, content_type=content_type, output_path=output_path
            )

    def prepare_env(
        self,
        model_uri: str,
        capture_output: bool = False,
        pip_requirements_override: list[str] | None = None,
        dry_run: bool = False,
    ) -> int:
        """pip-install the package's requirements.txt (and the overrides) into this
        environment; 0 when there is nothing to install."""
        from labtrack.models.uris import download_model

        local = download_model(model_uri)
        requirements = os.path.join(local, REQUIREMENTS_FILE)
        argv = [sys.executable, "-m", "pip", "install"]
        if os.path.isfile(requirements):
            argv += ["-r", requirements]
        argv += list(pip_requirements_override or [])
        if len(argv) == 4:
            return 0
        if dry_run:
            argv.append("--dry-run")
        return subprocess.run(argv, check=False, capture_output=capture_output).returncode

    def serve(
        self,
        model_uri: str,
        port: int,
        host: str,
        timeout: int | None = None,
        enable_mlserver: bool = False,
        synchronous: bool = True,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> Any:
        if enable_mlserver:
            raise NotImplementedError("labtrack serves MLflow's scoring protocol, not MLServer's.")
        if synchronous:
            from labtrack.models.serving import serve

            serve(model_uri, host=host, port=port, workers=self._workers)
            return None
        argv = [sys.executable, "-m", "labtrack.cli", "models", "serve", "-m", model_uri]
        argv += ["-p", str(port), "--host", host, "-w", str(self._workers)]
        return subprocess.Popen(argv, stdout=stdout, stderr=stderr)

    def can_score_model(self) -> bool:
        from labtrack.pyfunc import _LOADERS

        return str(self._config.get("loader_module")) in _LOADERS


def get_flavor_backend(
    model_uri: str, env_manager: str | None = "local", workers: int = 1
) -> FlavorBackend:
    """The backend that scores ``model_uri`` here (its ``python_function`` flavor)."""
    from labtrack.errors import invalid
    from labtrack.models.predict import _check_env_manager
    from labtrack.models.uris import download_model

    _check_env_manager(env_manager)
    meta = Model.load(download_model(model_uri))
    config = meta.flavors.get(PYFUNC)
    if config is None:
        raise invalid(f"The model at {model_uri!r} has no {PYFUNC!r} flavor to score it with.")
    return LocalPyFuncBackend(config, workers=workers)
