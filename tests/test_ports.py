"""A port picked for a child can be taken before the child binds it (another process on the
machine): the start goes again on other ports (``ports.on_free_ports``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import ports
from seaweed_fixtures import _run_seaweed, run_seaweed


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process holds (listening), as one that won the race would."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


@pytest.fixture
def first_pick_taken(monkeypatch: pytest.MonkeyPatch, taken_port: int) -> int:
    """The first ports picked begin with ``taken_port``; later picks are free."""
    real = ports.free_ports
    picks: list[list[int]] = []

    def pick(n: int, avoid: range = range(0)) -> list[int]:
        got = real(n, avoid)
        if not picks:
            got = [taken_port, *got[1:]]
        picks.append(got)
        return got

    monkeypatch.setattr(ports, "free_ports", pick)
    return taken_port


def test_seaweed_starts_on_other_ports_when_one_was_taken(
    first_pick_taken: int, tmp_path: Path
) -> None:
    with run_seaweed(tmp_path) as weed:  # its master port is taken at the first attempt
        bucket = weed.new_bucket("ports")
        weed.filesystem().pipe(f"{bucket}/probe", b"ok")
        assert weed.filesystem().cat(f"{bucket}/probe") == b"ok"
    log = (tmp_path / "weed.log").read_text(errors="replace")
    assert f":{first_pick_taken}" not in log  # the log is the second attempt's


def test_a_taken_port_is_reported_when_no_attempt_is_left(
    first_pick_taken: int, tmp_path: Path
) -> None:
    with (
        pytest.raises(ports.PortTaken, match="address already in use"),
        ports.on_free_ports(8, lambda picked: _run_seaweed(tmp_path, picked), attempts=1),
    ):
        pass


@pytest.mark.parametrize(
    "line",
    [
        # configurable-http-proxy (Node)
        "Error: listen EADDRINUSE: address already in use 127.0.0.1:8000",
        # weed (Go)
        "Master startup error: listen tcp 127.0.0.1:9333: bind: address already in use",
        # jupyterhub (Python, tornado)
        "OSError: [Errno 98] Address already in use",
        # labtrack service (jupyter_server with port_retries=0)
        "[C 12:00:00 ServerApp] ERROR: the Jupyter server could not be started because port "
        "10101 is not available.",
        "[I 12:00:00 ServerApp] The port 10101 is already in use.",
    ],
)
def test_what_each_program_says_of_a_taken_port_is_recognised(line: str) -> None:
    with pytest.raises(ports.PortTaken, match="child"):
        ports.raise_if_port_taken(f"starting\n{line}\nexiting\n", "child")
    ports.raise_if_port_taken("starting\nlistening on 127.0.0.1:10101\n", "child")  # no raise
