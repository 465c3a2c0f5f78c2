"""labtrack's Jupyter server extension (REST API under ``<base_url>labtrack/``).

Importing this package is cheap: the extension app and handlers are imported only when
jupyter_server asks for the extension points.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from labtrack.server.app import LabtrackApp

    return [{"module": "labtrack.server.app", "app": LabtrackApp}]
