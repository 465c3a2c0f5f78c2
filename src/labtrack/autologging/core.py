"""Autolog machinery shared by the integrations: per-flavor options, safe patching, and the
rule that autologging never breaks training.

A patched method calls the user's original method exactly once, with the user's arguments,
and returns (or raises) exactly what it returns (or raises). Everything autolog does around it
(starting a run, logging params, metrics, the model) runs in ``guard`` blocks: an error there
becomes one warning (a debug log line with ``silent=True``), never an exception in the user's
code. Nested calls (a Pipeline's steps, a grid search's candidate fits) run unpatched, so only
the call the user made is logged.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_log = logging.getLogger("labtrack.autologging")

# True while a patched method of any flavor is running in this context.
_inside_patch: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "labtrack_autolog_inside", default=False
)


@dataclass
class AutologConfig:
    """The options of one flavor's autolog (MLflow's names)."""

    flavor: str
    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    log_datasets: bool = True
    disable: bool = False
    exclusive: bool = False
    disable_for_unsupported_versions: bool = False
    silent: bool = False
    extra_tags: dict[str, str] | None = None
    options: dict[str, Any] = field(default_factory=dict)  # flavor-specific

    @classmethod
    def from_arguments(
        cls, flavor: str, arguments: Mapping[str, Any], options: dict[str, Any] | None = None
    ) -> AutologConfig:
        """The options of a flavor's ``autolog()`` call: ``arguments`` are its own arguments
        (``locals()``), whose common options (``log_models``, ``silent``...) are taken by name
        (one it lacks keeps its default); ``options`` are the flavor's own."""
        names = {f.name for f in fields(cls)} - {"flavor", "disable", "options"}
        common = {name: arguments[name] for name in names if name in arguments}
        common["extra_tags"] = dict(common.get("extra_tags") or {})
        return cls(flavor, **common, options=dict(options or {}))


_configs: dict[str, AutologConfig] = {}
_INHERITED = object()  # marks a patch set on a class that inherited the method
# (owner, attribute) -> the original attribute, to restore on disable and to avoid
# patching twice.
_patches: dict[str, dict[tuple[Any, str], Any]] = {}


def enabling(
    flavor: str, *, disable: bool, silent: bool, missing: str | None, hint: str = ""
) -> bool:
    """The start of every flavor's ``autolog()``; True when it goes on to enable the flavor.
    ``disable=True`` turns the flavor off (its patches restored). ``missing`` names the library
    when it is not installed (None when it is): nothing is enabled, and ``lt.<flavor>.autolog()``
    warns unless ``silent``."""
    if disable:
        _turn_off(flavor)
        return False
    if missing is not None:
        if not silent:
            warnings.warn(
                f"lt.{flavor}.autolog() needs {missing}, which is not installed: nothing is "
                f"logged automatically.{' ' + hint if hint else ''}",
                stacklevel=3,
            )
        return False
    return True


def set_config(config: AutologConfig) -> None:
    _configs[config.flavor] = config


def get_config(flavor: str) -> AutologConfig | None:
    """The flavor's options while it is enabled, else None."""
    config = _configs.get(flavor)
    return None if config is None or config.disable else config


def warn(config: AutologConfig | None, message: str) -> None:
    if config is not None and config.silent:
        _log.debug(message)
    else:
        warnings.warn(message, stacklevel=3)


@contextlib.contextmanager
def guard(config: AutologConfig | None, what: str) -> Iterator[None]:
    """Run autolog's own work; any error in it is a warning, not a failure of the user's
    call. (KeyboardInterrupt and SystemExit still propagate.)"""
    try:
        yield
    except Exception as exc:
        flavor = config.flavor if config is not None else "autolog"
        warn(config, f"labtrack {flavor} autologging: {what} failed: {type(exc).__name__}: {exc}")


def inside_patch() -> bool:
    return _inside_patch.get()


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Calls made inside (a metric inside ``score``, ``predict`` inside a metric helper) are
    autolog's or the library's own, not the user's: patched methods pass them straight through."""
    token = _inside_patch.set(True)
    try:
        yield
    finally:
        _inside_patch.reset(token)


class Session:
    """Autolog's work around one patched call; subclasses override the hooks. Each hook runs
    under ``guard``, so a failing hook only costs its own logging."""

    def __init__(self, config: AutologConfig, target: Any, args: tuple, kwargs: dict) -> None:
        self.config = config
        self.target = target
        self.args = args
        self.kwargs = kwargs
        self.original: Any = None  # the unpatched method being called
        self.started: Any = None  # the run this session started (and so must end), if any
        self.run_id: str | None = None

    def before(self) -> None:
        """Before the original call (start a run, log params)."""

    def after(self, result: Any) -> None:
        """After it returned (metrics, model)."""

    def close(self, failed: bool) -> None:
        """Always last (end a run autolog started)."""


def _resolve(owner: type, name: str) -> tuple[Any, bool]:
    """The plain function ``owner.name`` resolves to (unwrapped if a patch of ours), and
    whether ``owner`` defines it itself."""
    for klass in owner.__mro__:
        if name in klass.__dict__:
            found = klass.__dict__[name]
            return getattr(found, "__labtrack_autolog_original__", found), klass is owner
    return None, False


def patch_method(
    flavor: str, owner: Any, name: str, make: Callable[[Any], Callable[..., Any]]
) -> bool:
    """Set ``owner.name`` to ``make(original)``, where ``original`` is the plain function the
    name resolves to (inherited ones too: most estimators get ``predict`` from a mixin). False
    when there is nothing to patch. Descriptors (sklearn's ``available_if`` methods,
    properties) are left alone: wrapping them would change ``hasattr`` answers the user's code
    relies on."""
    patched = _patches.setdefault(flavor, {})
    if (owner, name) in patched:
        return True
    original, own = _resolve(owner, name)
    if not inspect.isfunction(original):
        return False
    wrapper = functools.wraps(original)(make(original))
    wrapper.__labtrack_autolog_original__ = original  # type: ignore[attr-defined]
    # Restoring an inherited method means removing ours, not copying the parent's down.
    patched[(owner, name)] = original if own else _INHERITED
    setattr(owner, name, wrapper)
    return True


def patch(
    flavor: str,
    owner: Any,
    name: str,
    session_class: Callable[[AutologConfig, Any, tuple, dict], Session],
) -> bool:
    """Patch a training method: while ``flavor`` is enabled, a ``session_class`` session runs
    around the original call (which runs once, whatever the session does)."""

    def make(original: Any) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            return run_session(flavor, session_class, self, original, (self, *args), kwargs)

        return wrapper

    return patch_method(flavor, owner, name, make)


def patch_class_tree(
    flavor: str,
    base: type,
    name: str,
    session_class: Callable[[AutologConfig, Any, tuple, dict], Session],
) -> None:
    """``patch`` ``base.name`` and every override of it in ``base``'s subclasses (a library's
    ``XGBClassifier.fit`` replaces ``XGBModel.fit``); the outermost call is the one logged."""
    pending = [base]
    while pending:
        klass = pending.pop()
        if name in klass.__dict__:
            patch(flavor, klass, name, session_class)
        pending.extend(klass.__subclasses__())


def run_session(
    flavor: str,
    session_class: Callable[[AutologConfig, Any, tuple, dict], Session],
    target: Any,
    original: Callable[..., Any],
    call_args: tuple,
    kwargs: dict,
) -> Any:
    """Call ``original(*call_args, **kwargs)`` once, with a ``session_class`` session around
    it while ``flavor`` is enabled. The session sees the arguments after the target (a
    method's ``self``) and may add to ``kwargs`` (a callback) before the call."""
    config = get_config(flavor)
    if config is None or _inside_patch.get():
        return original(*call_args, **kwargs)
    token = _inside_patch.set(True)
    try:
        session: Session | None = None
        ready = False  # a session that failed to prepare logs nothing after training
        args = call_args[1:] if target is not None else call_args
        with guard(config, "preparing the run"):
            session = session_class(config, target, args, kwargs)
            session.original = original
            session.before()
            ready = True
        try:
            result = original(*call_args, **kwargs)
        except BaseException:
            if session is not None:
                with guard(config, "ending the run"):
                    session.close(failed=True)
            raise
        if session is not None:
            if ready:
                with guard(config, "logging after training"):
                    session.after(result)
            with guard(config, "ending the run"):
                session.close(failed=False)
        return result
    finally:
        _inside_patch.reset(token)


def patch_function_session(
    flavor: str,
    module: Any,
    name: str,
    session_class: Callable[[AutologConfig, Any, tuple, dict], Session],
) -> None:
    """Patch a module-level training function (``lightgbm.train``) like ``patch`` patches a
    method; the session's target is None."""
    original = getattr(module, name)
    original = getattr(original, "__labtrack_autolog_original__", original)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_session(flavor, session_class, None, original, args, kwargs)

    wrapper.__labtrack_autolog_original__ = original  # type: ignore[attr-defined]
    patch_function(flavor, module, name, wrapper)


def patch_function(flavor: str, module: Any, name: str, replacement: Callable[..., Any]) -> None:
    """Replace a module-level function (restored by ``unpatch_all``)."""
    patched = _patches.setdefault(flavor, {})
    if (module, name) in patched:
        return
    patched[(module, name)] = getattr(module, name)
    setattr(module, name, replacement)


def unpatch_all(flavor: str) -> None:
    """Restore every original of ``flavor`` (``autolog(disable=True)``)."""
    for (owner, name), original in _patches.pop(flavor, {}).items():
        with contextlib.suppress(AttributeError, TypeError):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def disable_all() -> None:
    """Every enabled integration off, every patch restored."""
    for flavor in list(_configs):
        disable(flavor)


def disable(flavor: str) -> None:
    config = _configs.get(flavor)
    if config is not None:
        config.disable = True
    unpatch_all(flavor)


_turn_off = disable  # ``enabling``'s keyword ``disable`` hides the function there
