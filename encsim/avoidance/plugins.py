"""Naming a logic under test: a reference logic by name, or a user's logic by import path.

One resolver serves the API, the CLI and the runner's worker processes, so a logic named on the
command line (``--logic mypackage.mylogic:turn_away``) is found the same way in every process:
workers receive the *name* and import it themselves (the module must be importable there, e.g.
installed or on ``PYTHONPATH`` of the cluster's workers).
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np

from .reference_logics import REFERENCE_LOGICS, record_of

__all__ = ["LogicSpecError", "check_named_logic", "describe_logic", "is_compiled", "resolve_logic"]


class LogicSpecError(ValueError):
    """A logic name that names nothing usable."""


def _import(spec: str):
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise LogicSpecError(f"logic {spec!r}: expected one of {sorted(REFERENCE_LOGICS)} or module:object")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LogicSpecError(f"logic {spec!r}: cannot import module {module_name!r} ({exc})") from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise LogicSpecError(f"logic {spec!r}: module {module_name!r} has no attribute {attribute!r}") from None


def resolve_logic(logic, pilot=None):
    """The (function, float64 params) pair the closed loop flies for ``logic``.

    ``logic`` is a reference name (``"daa"``, ``"tcas"``, ...), a ``"module:object"`` import path,
    a logic function, or a ``(function, params)`` tuple; an imported object may itself be a
    function or such a tuple. A function that is not ``@njit``-compiled runs on the slow path.
    ``pilot`` (a `PilotModel`) reaches the parameters of a reference logic that projects the
    pilot's response (``tcas``), so that it assumes the pilot the closed loop flies.
    """
    if isinstance(logic, str):
        if logic in REFERENCE_LOGICS:
            function, make_params = REFERENCE_LOGICS[logic]
            takes_pilot = "pilot" in inspect.signature(make_params).parameters
            params = make_params(pilot=pilot) if pilot is not None and takes_pilot else make_params()
            return function, _checked_params(function, np.asarray(params, dtype=np.float64), logic)
        if ":" not in logic:
            raise LogicSpecError(
                f"unknown logic {logic!r}; reference logics: {sorted(REFERENCE_LOGICS)}, or module:object"
            )
        logic = _import(logic)
    if isinstance(logic, tuple):
        if len(logic) != 2 or not callable(logic[0]):
            raise LogicSpecError(f"a logic tuple must be (function, params), got {logic!r:.80}")
        return logic[0], _checked_params(logic[0], np.asarray(logic[1], dtype=np.float64), describe_logic(logic))
    if not callable(logic):
        raise LogicSpecError(
            f"a logic must be callable as logic(t_s, own, intruder, memory, params, advisory), got {logic!r:.80}"
        )
    return logic, np.zeros(1)


def _checked_params(function, params: np.ndarray, label: str) -> np.ndarray:
    """``params``, once its length is the one the reference logic ``function`` reads (any, for a user's logic)."""
    record = record_of(function)
    if params.ndim != 1:
        raise LogicSpecError(f"logic {label}: parameters must be a 1-d array, got shape {params.shape}")
    if record is not None and record.n_params is not None and params.shape[0] != record.n_params:
        raise LogicSpecError(
            f"logic {label}: {getattr(record.function, '__name__', '?')} expects {record.n_params} parameters, "
            f"got {params.shape[0]}"
        )
    return params


def is_compiled(function) -> bool:
    """True for an ``@njit`` logic (the fast path)."""
    return hasattr(function, "py_func")


def describe_logic(logic) -> str:
    """The name stored with outcomes as provenance."""
    if isinstance(logic, str):
        return logic
    function = logic[0] if isinstance(logic, tuple) else logic
    module = getattr(function, "__module__", None) or "?"
    return f"{module}:{getattr(function, '__qualname__', None) or getattr(function, '__name__', repr(function))}"


def check_named_logic(spec: str):
    """Resolve a logic by name and, for a user's logic, check its contract once (`check_logic`).

    Run before a study starts, so that a logic with the wrong signature, NaN or out-of-range
    advisories fails here with the geometry and time named, not as a traceback inside the closed
    loop or, worse, as outcomes computed from NaN states. Returns the (function, params) pair.
    """
    from .check import check_logic

    function, params = resolve_logic(spec)
    if not (isinstance(spec, str) and spec in REFERENCE_LOGICS):  # the reference logics are tested
        check_logic(function, params)
    return function, params
