"""Team-mode tests: a real JupyterHub, configurable-http-proxy, PostgreSQL and SeaweedFS.

A failed test's report carries what the hub, its proxy and the labtrack services logged while it
ran (all write to the hub's log): a proxy's 503, say, names its cause there ("socket hang up",
"ECONNREFUSED")."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_browser import browser  # noqa: F401
from hub_fixtures import hub, team_pg_database  # noqa: F401
from seaweed_fixtures import seaweed  # noqa: F401

_HUB_LOG = pytest.StashKey[tuple[Path, int]]()
_SHOWN = 30_000  # characters of the log at most, the last ones


@pytest.fixture(autouse=True)
def _hub_log_of_this_test(request: pytest.FixtureRequest) -> None:
    """Where the hub's log stood when the test began (tests without the hub: nothing)."""
    if "hub" in request.fixturenames:
        log = request.getfixturevalue("hub").folder / "hub.log"
        request.node.stash[_HUB_LOG] = (log, log.stat().st_size if log.exists() else 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed or _HUB_LOG not in item.stash:
        return
    log, start = item.stash[_HUB_LOG]
    try:
        with log.open("rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
    except OSError as err:
        text = f"(unreadable: {err})"
    report.sections.append((f"hub log during {report.when}", text[-_SHOWN:]))
