"""Verification engine: judge one decomposition step (anti-cheat, weight transfer, numerics).

Public API (used by `hdecomp verify-step` and by `hdecomp lower` for every step it emits):

    StepOptions(original, refactored, output=None, weight_map=None, rtol=None, atol=None,
                trials=3, device="auto", timeout=600.0, ...)
    verify_step(opts) -> StepResult          # one step, one throw-away fork server
    with StepVerifier() as v: v.verify(opts)  # many steps, one fork server, cached originals
    StepResult.passed / .status / .reasons / .to_json() / .summary_line()

Bad input (missing files, an original that does not parse or has no Model, a malformed weight
map) raises `hdecomp_ir.errors.UserInputError`; a wrong refactored step is a FAIL result.
"""

from hdecomp_ir.verification.engine import (StepOptions, StepVerifier, load_weight_map,
                                            verify_step)
from hdecomp_ir.verification.report import ALL_RULES, StepResult, Violation

__all__ = ["StepOptions", "StepVerifier", "StepResult", "Violation", "verify_step",
           "load_weight_map", "ALL_RULES"]
