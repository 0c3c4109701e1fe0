"""Verification engine: judge one decomposition step (anti-cheat, weight transfer, numerics).

Public API (used by `hdecomp verify-step` and by `hdecomp lower` for every step it emits):

    StepOptions(original, refactored, output=None, weight_map=None, rtol=None, atol=None,
                trials=3, device="auto", timeout=600.0, ...)
    verify_step(opts) -> StepResult          # one step, one throw-away fork server
    with StepVerifier() as v: v.verify(opts)  # many steps, one fork server, cached originals
    StepResult.passed / .status / .reasons / .to_json() / .summary_line()

Bad input (missing files, an original that does not parse or has no Model, a malformed weight
map) raises `hdecomp_ir.errors.UserInputError`; a wrong refactored step is a FAIL result.

Names are loaded on first use, so the worker processes (which import
`verifier.runtime.worker`) do not pay for libcst and the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier.engine import (StepOptions, StepVerifier, load_weight_map,
                                                verify_step)
    from verifier.report import ALL_RULES, StepResult, Violation

_EXPORTS = {
    "StepOptions": "engine", "StepVerifier": "engine", "verify_step": "engine",
    "load_weight_map": "engine", "StepResult": "report", "Violation": "report",
    "ALL_RULES": "report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"verifier.{module}"), name)
