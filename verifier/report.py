"""What a verification found: rule violations and the step result (verification_result.json).

Every failure names a rule (a stable code an agent or a test can match), a location when there is
one (file:line, or the output leaf for numerics) and a message that says what to change.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdecomp_ir.spec import QUICK_STATUS as QUICK

# Rule codes, grouped by the stage that reports them.
STATIC_RULES = {
    "syntax_error": "refactored code does not parse",
    "missing_class": "RefactoredModel (or a child's Model) is missing",
    "forbidden_import": "imports something other than children/, torch and the standard library",
    "imports_original": "imports the original model",
    "imports_verifier": "imports the verifier",
    "dynamic_code": "eval/exec/getattr-style dynamic code",
    "private_access": "reaches into private or dunder attributes",
    "monkeypatch": "assigns attributes of modules or objects it does not own",
    "file_io": "reads or writes files",
    "reseed": "re-seeds a random number generator",
    "compute_op": "a compute op in the refactored parent",
    "matmul_operator": "the @ operator in the refactored parent",
    "alias": "a compute function bound to a name",
    "module_level_code": "statements at module level other than imports and constants",
    "local_class": "a class other than RefactoredModel in refactored.py",
    "raw_module_in_init": "a torch.nn module constructed in the parent's __init__",
    "parameter_in_init": "an nn.Parameter created in the parent",
    "init_call": "a call in __init__ other than children, containers and tensor factories",
    "stateful_forward": "forward() keeps state across calls",
    "reaches_into_child": "forward() uses a child's internals instead of calling it",
    "overrides_module_api": "RefactoredModel overrides nn.Module behaviour",
    "forbidden_construct": "a construct the parent may not use (lambda, try, with, nested def)",
    "missing_level_header": "a child file without 'Abstraction Level:' in its header",
    "child_level": "a child at or above the parent's level",
    "child_copies_original": "a child file that is the original model",
    "forbidden_api": "a torch or library API outside the allow-list (torch.ops, library, overrides, utils, jit …)",
    "forbidden_name": "a builtin outside the allow-list, or a name the file never defines",
    "forbidden_file": "a file under children/ that can run unscanned (.so, .pth, .pyc, symlink, shadowing name)",
}
RUNTIME_RULES = {
    "compute_outside_child": "a compute op ran outside every child module",
    "parameter_outside_child": "a child's parameter was used outside the child",
    "escape_to_python": "tensor values left torch (tolist, item, numpy) outside a child, or "
                        "activation values inside one",
    "kernel_not_single_op": "a kernel child performs more than one logical op",
    "loop_not_in_original": "a kernel child passes as one loop over time the original does not run",
    "fusion_op_count": "a fusion child performs more than 5 ops",
    "wraps_original": "one child performs all of the original's ops",
    "random_op": "a random op ran in eval mode where the original has none",
    "training_mode": "a module was in training mode during the forward",
    "blocked_import": "an import the sandbox blocked at run time",
    "timeout": "the refactored code ran past the time limit",
    "crash": "the refactored code raised an exception",
    "killed": "the refactored code's process died",
    "tampered": "the run reported something the verifier cannot reproduce",
}
TRANSFER_RULES = {
    "weight_map_entry": "a weight_map.json entry names a missing or mismatched tensor",
    "weight_conflict": "one refactored tensor receives two different original tensors",
    "unmapped_refactored": "a refactored parameter or random buffer receives no original weight",
    "unmapped_original": "an original tensor used by its forward has no refactored counterpart",
}
NUMERIC_RULES = {
    "numerics": "outputs differ beyond the tolerance",
    "shape_mismatch": "an output leaf has the wrong shape",
    "dtype_mismatch": "an output leaf has the wrong dtype",
    "structure_mismatch": "the output has a different structure (tuple length, keys, types)",
    "degenerate_output": "the output is zeros, constant or a copy of an input where the original's is not",
    "input_mutated": "the refactored forward changed its inputs and the original does not",
    "nonfinite_output": "the output holds NaN or Inf where the original's is finite",
    "weak_signal": "an output too small for the tolerance differs from the original relative to its own scale",
    "op_missing": "a compute op of the original (up to known equivalences) appears in no child",
}
ALL_RULES = {**STATIC_RULES, **RUNTIME_RULES, **TRANSFER_RULES, **NUMERIC_RULES}


def _strict_json(value: Any) -> Any:
    """The same data with inf/nan floats as strings (strict JSON readers reject them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Violation:
    """One broken rule, with where and what to do."""

    rule: str
    message: str
    file: str | None = None
    line: int | None = None
    stage: str = "anticheat"

    @property
    def location(self) -> str:
        """`refactored.py:12`, `children/x.py`, or '' when there is no file."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def one_line(self) -> str:
        """`rule: file:line: message` on one line."""
        loc = f"{self.location}: " if self.location else ""
        return " ".join(f"{self.rule}: {loc}{self.message}".split())

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "stage": self.stage, "file": self.file, "line": self.line,
                "message": self.message}


@dataclass
class StepResult:
    """The verdict on one step; `to_json()` is verification_result.json."""

    status: str  # PASS, FAIL, ERROR (could not judge: memory, infrastructure) or QUICK
    original_file: str
    refactored_file: str
    step_name: str
    failures: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    anticheat: dict[str, Any] = field(default_factory=dict)
    weight_transfer: dict[str, Any] = field(default_factory=dict)
    numerical_comparison: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    timing: dict[str, float] = field(default_factory=dict)
    timestamp: str = ""
    verifier_version: str = ""
    error: str | None = None
    # How the untrusted code was confined: "namespace" (its own mount/network namespaces and an
    # allow-list file view) or "process" (a child process only: the weaker guarantee).
    isolation: str | None = None

    @property
    def passed(self) -> bool:
        """True only for PASS."""
        return self.status == "PASS"

    @property
    def reasons(self) -> list[str]:
        """Rule codes of the failures, first occurrence order, without repeats."""
        return list(dict.fromkeys(v.rule for v in self.failures))

    def to_json(self) -> dict[str, Any]:
        """verification_result.json (OUTPUT_SCHEMA), plus reasons, failures, files and version."""
        return {
            "timestamp": self.timestamp,
            "original_file": self.original_file,
            "refactored_file": self.refactored_file,
            "status": self.status,
            "reasons": self.reasons,
            "failures": [v.to_json() for v in self.failures],
            "warnings": list(self.warnings),
            "error": self.error,
            "anticheat": self.anticheat,
            "weight_transfer": self.weight_transfer,
            "numerical_comparison": self.numerical_comparison,
            "memory": self.memory,
            "device": self.device,
            "timing": {k: round(v, 4) for k, v in self.timing.items()},
            "files": self.files,
            "verifier_version": self.verifier_version,
            "isolation": self.isolation,
        }

    def write(self, path: Path) -> None:
        """Write the JSON (parents created); written last, so it always reflects this verdict."""
        from verifier.signing import sign

        path.parent.mkdir(parents=True, exist_ok=True)
        # Signed with this user's key: `hdecomp verify` reuses only results it can check.
        data = sign(_strict_json(self.to_json()))
        path.write_text(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")

    def summary_line(self) -> str:
        """One line for the terminal: the status, then the numbers or the first failures."""
        if self.status == "PASS":
            num = self.numerical_comparison
            text = (f"PASS {self.step_name}: {num.get('num_trials', 0)} trials, max diff "
                    f"{float(num.get('max_diff_across_trials', 0.0)):.3g} (rtol {num.get('rtol')}, "
                    f"atol {num.get('atol')})")
            weak = [w for w in self.warnings if w.startswith("weak signal")]
            return text + (f"; warning: {weak[0]}" if weak else "")
        if self.status == "ERROR":
            return f"ERROR {self.step_name}: {self.error}"
        if self.status == QUICK:
            num = self.numerical_comparison
            return (f"QUICK {self.step_name}: 1 trial passed, max diff "
                    f"{float(num.get('max_diff_across_trials', 0.0)):.3g}; not a PASS: verify-step "
                    "without --quick runs every trial")
        shown = [v.one_line() for v in self.failures[:3]]
        more = len(self.failures) - len(shown)
        tail = f" (+{more} more, see the result JSON)" if more > 0 else ""
        return f"FAIL {self.step_name}: " + "; ".join(shown) + tail
