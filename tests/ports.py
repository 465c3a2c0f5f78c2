"""Ports for the servers the tests start, without racing other processes for them.

Picking a free port (bind port 0, read its number, close it) and handing the number to a child
races with every other process on the machine: another test session, a Ray worker, a server of
another engineer may bind it before the child does. Two remedies, in this order:

- a program that can bind port 0 itself and report the port it got does so (``jupyter server``
  writes it to its runtime file: :func:`jupyter_server_port`);
- otherwise :func:`on_free_ports` starts it again on new ports when its start failed because a
  port was taken (the start raises :class:`PortTaken`, e.g. after :func:`raise_if_port_taken`
  found "address already in use" in the child's log).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

ATTEMPTS = 4
# What Python, Go (SeaweedFS), Node (configurable-http-proxy), jupyter_server (with
# port_retries=0) and haproxy say about a taken port.
_ADDRESS_IN_USE = re.compile(
    r"address already in use|EADDRINUSE|\[Errno 98\]|port \d+ is (not available|already in use)"
    r"|cannot bind socket",
    re.IGNORECASE,
)


class PortTaken(Exception):
    """A port handed to a child was taken before the child bound it."""


def free_ports(n: int, avoid: range = range(0)) -> list[int]:
    """``n`` distinct ports free right now, below 55535 (so no gRPC port derived as +10000 can
    overflow) and outside ``avoid``. Free *now*: start the child with :func:`on_free_ports`."""
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)  # held until all are picked: n distinct ports
            port = int(s.getsockname()[1])
            if port < 55535 and port not in avoid:
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def raise_if_port_taken(log: str | Path, what: str) -> None:
    """Raise :class:`PortTaken` if ``log`` (text, or a file) says an address was in use."""
    if isinstance(log, Path):
        try:
            log = log.read_text(errors="replace")
        except OSError:
            return
    found = _ADDRESS_IN_USE.search(log)
    if found:
        line = log[log.rfind("\n", 0, found.start()) + 1 :].split("\n", 1)[0]
        raise PortTaken(f"{what}: {line.strip()[:300]}")


@contextlib.contextmanager
def on_free_ports(
    n: int,
    run: Callable[[list[int]], AbstractContextManager[T]],
    avoid: range = range(0),
    attempts: int = ATTEMPTS,
) -> Iterator[T]:
    """Enter ``run(ports)`` with ``n`` free ports; when entering raises :class:`PortTaken` (the
    context manager has cleaned up after itself), again with new ports, up to ``attempts``
    times."""
    for attempt in range(1, attempts + 1):
        with contextlib.ExitStack() as stack:
            try:
                value = stack.enter_context(run(free_ports(n, avoid)))
            except PortTaken as taken:
                if attempt == attempts:
                    raise
                print(f"{taken}; starting again on other ports")
                continue
            yield value
            return


def jupyter_server_port(runtime_dir: Path, timeout: float, alive: Callable[[], bool]) -> int:
    """The port a ``jupyter server --port=0`` bound, from the runtime file it writes once it
    listens (``runtime_dir``: its ``JUPYTER_RUNTIME_DIR``, of its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        for info in runtime_dir.glob("jpserver-*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                return int(json.loads(info.read_text())["port"])
        time.sleep(0.1)
    raise RuntimeError(f"no jupyter server wrote its port to {runtime_dir} in {timeout:.0f}s")
