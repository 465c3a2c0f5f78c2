"""Team-mode tests: a real JupyterHub, configurable-http-proxy, PostgreSQL and SeaweedFS."""

from hub_browser import browser  # noqa: F401
from hub_fixtures import hub, team_pg_database  # noqa: F401
from seaweed_fixtures import seaweed  # noqa: F401
