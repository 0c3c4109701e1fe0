"""Golden IR dumps: the textual IR after each pass of the pipeline, for small hand-written models."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from fixture_paths import GOLDEN, MODELS
from workflow.lower import build_ir
from hdecomp_ir.printer import print_ir

CASES = sorted(p.stem for p in MODELS.glob("*.py"))


@pytest.mark.parametrize("model", CASES)
def test_ir_after_each_pass_matches_golden(model: str, update_golden: bool) -> None:
    dumps: list[tuple[str, str]] = []
    build_ir(MODELS / f"{model}.py", on_pass=lambda name, ir: dumps.append((name, print_ir(ir))),
             verify_each=True)
    folder = GOLDEN / model
    written = {f"{i:03d}_{name}.ir" for i, (name, _) in enumerate(dumps)}
    # a pass added or removed renumbers the dumps: files of the old numbering are stale
    stale = sorted(p for p in folder.glob("*.ir") if p.name not in written)
    if stale and update_golden:
        for path in stale:
            path.unlink()
    elif stale:
        pytest.fail(f"stale golden files {[p.name for p in stale]}; run pytest --update-golden")
    for i, (name, text) in enumerate(dumps):
        text = text.replace(str(MODELS), "<models>")
        path = folder / f"{i:03d}_{name}.ir"
        if update_golden or not path.exists():
            if not update_golden:
                pytest.fail(f"missing golden file {path}; run pytest --update-golden")
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            continue
        expected = path.read_text()
        if expected != text:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                str(path), "actual"))
            pytest.fail(f"IR after {name} differs from {path}:\n{diff}")
