"""Pausing Python's cyclic garbage collector around bulk object building."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small acyclic objects (a search's runs, a
    history's points, their JSON): each allocation burst otherwise sets off full collections
    that traverse everything alive, and those cost more than the building itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
