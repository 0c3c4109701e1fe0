"""Before/after harness for the per-pass tests (xDSL-filecheck / LibCST assertCodemod style).

A case is a tiny model of tests/passes/models/. `run_pass` runs the pipeline up to (not
including) a pass, prints the IR, runs that one pass, checks the IR's invariants and prints it
again; `PassRun.check_golden` compares both texts with
tests/passes/golden/<pass>/<case>.before.ir and .after.ir (written by `pytest --update-golden`;
without the flag a missing or differing file fails with a unified diff).
A module of its own with a unique name, like fixture_paths, so any test folder can import it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pytest

import passes
from fixture_paths import MODELS
from hdecomp_ir.ir import IR
from hdecomp_ir.ir_verifier import verify_ir
from hdecomp_ir.printer import print_ir
from workflow.lower import build_ir

PASS_TESTS = Path(__file__).resolve().parent
PASS_MODELS = PASS_TESTS / "models"
PASS_GOLDEN = PASS_TESTS / "golden"


def model_path(case: str) -> Path:
    return PASS_MODELS / f"{case}.py"


def lower_until(pass_name: str, case: str) -> IR:
    """The IR of a case model as the pipeline hands it to `pass_name` (every pass before it)."""
    before = passes.PASS_NAMES[:passes.PASS_NAMES.index(pass_name)]
    return build_ir(model_path(case), pass_names=before, verify_each=True)


def apply(pass_name: str, ir: IR) -> IR:
    """Run one pass of the pipeline and check the IR's invariants on its result."""
    run = dict(passes.PIPELINE)[pass_name]
    ir = run(ir)
    verify_ir(ir)
    return ir


def printed(ir: IR) -> str:
    """print_ir with the checkout's location taken out, so goldens do not depend on it."""
    text = print_ir(ir)
    for folder, alias in ((PASS_MODELS, "<pass-models>"), (MODELS, "<models>")):
        text = text.replace(str(folder), alias)
    return text


def check_golden(pass_name: str, case: str, before: str, after: str, update: bool) -> None:
    """Compare (or, with --update-golden, write) the before and after texts of one case."""
    folder = PASS_GOLDEN / pass_name
    problems: list[str] = []
    for stage, text in (("before", before), ("after", after)):
        path = folder / f"{case}.{stage}.ir"
        if update:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            continue
        if not path.exists():
            problems.append(f"missing golden file {path}; run pytest --update-golden")
            continue
        expected = path.read_text()
        if expected != text:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                str(path), "actual"))
            problems.append(f"IR {stage} {pass_name} differs from {path}:\n{diff}")
    if problems:
        pytest.fail("\n".join(problems))


@dataclass
class PassRun:
    """One pass run on one case: the printed IR before and after, and the IR after."""

    pass_name: str
    case: str
    before: str
    after: str
    ir: IR

    def check_golden(self, update: bool) -> None:
        check_golden(self.pass_name, self.case, self.before, self.after, update)


def run_pass(pass_name: str, case: str, ir: IR | None = None) -> PassRun:
    """Run `pass_name` on a case (on `ir` when the test already lowered it to read facts first).

    Tests assert their structural facts on the result before `check_golden`: a golden file
    regenerated without reading it cannot then hide a regression.
    """
    ir = ir if ir is not None else lower_until(pass_name, case)
    before = printed(ir)
    ir = apply(pass_name, ir)
    return PassRun(pass_name, case, before, printed(ir), ir)
