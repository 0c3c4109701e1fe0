"""The per-pass suite itself: every pass of the pipeline has its before/after module, and every
case model and golden file belongs to a pass that is tested (none left behind by a rename)."""

from __future__ import annotations

import passes
from pass_harness import PASS_GOLDEN, PASS_MODELS, PASS_TESTS


def test_every_pass_has_a_before_after_module() -> None:
    missing = [name for name in passes.PASS_NAMES if not (PASS_TESTS / f"test_{name}.py").is_file()]
    assert not missing, f"passes without tests/passes/test_<pass>.py: {missing}"


def test_goldens_and_models_belong_to_tested_passes() -> None:
    folders = sorted(p.name for p in PASS_GOLDEN.iterdir() if p.is_dir())
    assert folders == sorted(passes.PASS_NAMES)
    used = {p.name.split(".", 1)[0] for p in PASS_GOLDEN.glob("*/*.ir")}
    models = {p.stem for p in PASS_MODELS.glob("*.py")}
    assert models <= used, f"case models no test runs: {sorted(models - used)}"
    assert used <= models, f"golden files without a model: {sorted(used - models)}"
    for path in PASS_GOLDEN.glob("*/*.ir"):
        assert path.name.endswith((".before.ir", ".after.ir")), path
