"""The client: ``TrackingClient`` (MLflow's ``MlflowClient``), the fluent API (``fluent``), and
the typed seam to the services (``backends``: in-process or REST, chosen once per URI)."""

from labtrack.client.tracking_client import MlflowClient, TrackingClient

__all__ = ["MlflowClient", "TrackingClient"]
