"""Untrusted code runs in a child process with a time limit; the verifier always returns."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

import pytest

from verifier import StepOptions, StepVerifier

HONEST = Path(__file__).parent / "corpus" / "honest" / "residual_mlp_sys_path_imports"
OptionsFactory = Callable[..., StepOptions]


def _step_with_forward(tmp_path: Path, old: str, new: str) -> Path:
    step = tmp_path / "step"
    shutil.copytree(HONEST, step)
    source = (step / "refactored.py").read_text()
    assert old in source
    (step / "refactored.py").write_text(source.replace(old, new))
    return step


def test_forward_that_runs_forever_is_stopped(verifier: StepVerifier, step_options: OptionsFactory,
                                              tmp_path: Path) -> None:
    step = _step_with_forward(tmp_path, "        h = self.act(h)\n",
                              "        while True:\n            h = self.act(h)\n")
    start = time.monotonic()
    result = verifier.verify(step_options(step, timeout=3.0))
    elapsed = time.monotonic() - start
    assert result.status == "FAIL"
    assert result.reasons == ["timeout"]
    assert "running forward (trial 0)" in result.failures[0].message
    assert elapsed < 15, elapsed


def test_import_that_never_finishes_is_stopped(verifier: StepVerifier, step_options: OptionsFactory,
                                               tmp_path: Path) -> None:
    step = tmp_path / "step"
    shutil.copytree(HONEST, step)
    relu = step / "children" / "relu_fp32.py"
    relu.write_text(relu.read_text() + "\nwhile True:\n    pass\n")
    result = verifier.verify(step_options(step, timeout=3.0))
    assert result.reasons == ["timeout"]
    assert "loading the files" in result.failures[0].message


def test_crash_in_forward_points_at_the_line(verifier: StepVerifier, step_options: OptionsFactory,
                                             tmp_path: Path) -> None:
    step = _step_with_forward(tmp_path, "return self.fc2(h) + x", "return self.fc2(h.transpose(0, 1)) + x")
    result = verifier.verify(step_options(step))
    assert result.reasons == ["crash"] or result.reasons[0] == "crash", result.summary_line()
    crash = result.failures[0]
    assert crash.file == "refactored.py" and crash.line == 24
    assert "RuntimeError" in crash.message


def test_verifier_survives_and_is_reused_after_a_timeout(verifier: StepVerifier,
                                                         step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(HONEST))
    assert result.passed, result.summary_line()


def test_spawn_start_method_gives_the_same_verdict(step_options: OptionsFactory) -> None:
    with StepVerifier() as fresh:
        result = fresh.verify(step_options(HONEST, start_method="spawn", trials=1))
    assert result.passed, result.summary_line()


def test_original_runs_once_per_trial_across_steps(verifier: StepVerifier,
                                                   step_options: OptionsFactory,
                                                   tmp_path: Path) -> None:
    verifier.verify(step_options(HONEST))
    step = tmp_path / "copy"
    shutil.copytree(HONEST, step)
    again = verifier.verify(step_options(step))
    # Same original file: its outputs are reused, not recomputed.
    assert again.passed and again.timing["original_s"] == 0.0
    assert again.memory.get("cached") is True


class _ForgingLauncher:
    """Runs jobs for real, but for the refactored worker writes a forged PASS and 'segfaults'."""

    def __init__(self, real: object) -> None:
        self.real = real

    def run(self, job_dir: Path, timeout: float):  # noqa: ANN201 - mirrors Launcher.run
        from verifier.runtime.sandbox import JobOutcome

        if job_dir.name.endswith("-refactored"):
            (job_dir / "result.json").write_text('{"metas": [], "plan": {}, "trials": []}')
            return JobOutcome(-11, False, 0.0)
        return self.real.run(job_dir, timeout)

    def close(self) -> None:
        self.real.close()


def test_result_file_of_a_crashed_worker_is_not_believed(verifier: StepVerifier,
                                                        step_options: OptionsFactory) -> None:
    real = verifier._launcher("forkserver")
    verifier._launchers["forkserver"] = _ForgingLauncher(real)
    try:
        result = verifier.verify(step_options(HONEST, trials=1))
    finally:
        verifier._launchers["forkserver"] = real
    assert result.status == "FAIL" and result.reasons == ["killed"]
    assert "exit -11" in result.failures[0].message


def test_uncached_original_runs_are_deleted(verifier: StepVerifier, step_options: OptionsFactory,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier import engine

    monkeypatch.setattr(engine, "ORIGINAL_CACHE_BYTES", 0)
    before = set(verifier.root.iterdir())
    step = Path(__file__).parent / "corpus" / "honest" / "scaled_residual"
    result = verifier.verify(step_options(step, trials=1, reinit_seed=7))
    assert result.passed
    # Both workers' directories (inputs, state, outputs) are gone once the verdict is made.
    assert set(verifier.root.iterdir()) <= before
