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


# -- the trust boundary (issue 12): what the untrusted process can see --------------------------

PROBE_ORIGINAL = '''import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return x * 2


def get_inputs():
    return [torch.randn(4, {n})]


def get_init_inputs():
    return []
'''

PROBE_REFACTORED = '''import torch
import torch.nn as nn

from children.probe import Model as Probe


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.probe = Probe()

    def forward(self, x):
        return self.probe(x)


def get_init_inputs():
    return []
'''

# The child computes the right answer and adds 1.0 at every position whose probe succeeded: the
# step PASSes exactly when nothing outside the view could be read and the network is unreachable.
PROBE_CHILD = '''"""
Component: probe
Abstraction Level: fusion
"""

import glob
import os
import socket
from pathlib import Path

import torch
import torch.nn as nn

PATHS = {paths!r}
GLOBS = {globs!r}
PORT = {port}


def _readable(path):
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return os.path.exists(path)


def _connects():
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=1):
            return True
    except OSError:
        return False


def probes():
    here = Path(__file__).resolve().parent
    flags = [_readable(p) for p in PATHS]
    flags += [bool(glob.glob(g)) for g in GLOBS]
    flags += [_readable("../original.py"), _readable("../../original.py"),
              _readable(str(here.parent / "original.py")), _readable(str(here / "../job.json")),
              _connects()]
    return flags


class Model(nn.Module):
    def forward(self, x):
        flags = torch.tensor([float(f) for f in probes()])
        return x * 2 + flags
'''


def _probe_step(tmp_path: Path, verifier_root: Path, output: Path, home: Path, port: int) -> Path:
    import verifier as verifier_pkg

    step = tmp_path / "steps" / "probe"
    (step / "children").mkdir(parents=True)
    paths = [str(step / "original.py"), str(output), str(home / "key"), str(home),
             str(Path.home() / ".config" / "hdecomp"), str(Path(verifier_pkg.__file__)),
             str(verifier_root)]
    globs = ["/tmp/hdecomp-verify-*", str(verifier_root / "*" / "job.json"),
             str(verifier_root / "*" / "state.pt"), str(verifier_root / "*" / "inputs_*.pt"),
             str(verifier_root / "*" / "*.json")]
    count = len(paths) + len(globs) + 5
    (step / "original.py").write_text(PROBE_ORIGINAL.format(n=count))
    (step / "refactored.py").write_text(PROBE_REFACTORED)
    (step / "children" / "probe.py").write_text(PROBE_CHILD.format(paths=paths, globs=globs, port=port))
    return step


def _without_static_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test hook: the probe reads files, which the static rules reject before anything runs;
    here the run-time boundary itself is under test, so the source violations are dropped."""
    from verifier import engine
    from verifier.static.source_rules import StaticReport

    real = engine.check_sources

    def lenient(*args: object) -> StaticReport:
        report = real(*args)
        return StaticReport([], report.children, report.original_level)

    monkeypatch.setattr(engine, "check_sources", lenient)


def _run_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import socket

    home = tmp_path / "hdecomp-home"
    home.mkdir()
    (home / "key").write_text("secret")
    monkeypatch.setenv("HDECOMP_HOME", str(home))
    _without_static_rules(monkeypatch)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        with StepVerifier() as verifier:
            output = tmp_path / "result" / "verification_result.json"
            step = _probe_step(tmp_path, verifier.root, output, home, server.getsockname()[1])
            output.parent.mkdir()
            output.write_text("{}")
            result = verifier.verify(StepOptions(step / "original.py", step / "refactored.py",
                                                 output=output, timeout=60))
    finally:
        server.close()
    return result


def test_untrusted_code_sees_no_original_job_files_results_keys_or_network(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.runtime import isolation

    monkeypatch.delenv(isolation.ENV, raising=False)
    if isolation.mode() != isolation.NAMESPACE:
        pytest.fail("namespaces are unavailable on this machine; the boundary cannot be tested")
    result = _run_probe(tmp_path, monkeypatch)
    assert result.isolation == "namespace"
    assert result.to_json()["isolation"] == "namespace"
    assert result.passed, [v.one_line() for v in result.failures]


def test_without_namespaces_the_result_says_process(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.runtime import isolation

    monkeypatch.setenv(isolation.ENV, isolation.PROCESS)  # as where namespaces are unavailable
    result = _run_probe(tmp_path, monkeypatch)
    assert result.isolation == "process"
    # The same probe now finds the original (and more): the first test's PASS is the boundary's.
    assert not result.passed and "numerics" in result.reasons


CHEATS = Path(__file__).parent / "corpus" / "cheats"


@pytest.mark.parametrize("name", ["job_json_runs_original", "forged_result_os_exit",
                                  "original_by_relative_path"])
def test_trust_boundary_cheats_fail_at_run_time_too(name: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus's trust-boundary cheats with the static rules out of the way: the isolated run
    still does not PASS (nothing to read, a forged report is not believed)."""
    from verifier.runtime import isolation

    monkeypatch.delenv(isolation.ENV, raising=False)
    _without_static_rules(monkeypatch)
    step = tmp_path / name
    shutil.copytree(CHEATS / name, step)
    with StepVerifier() as verifier:
        result = verifier.verify(StepOptions(step / "original.py", step / "refactored.py", timeout=60))
    assert result.isolation == isolation.mode() == "namespace"
    assert not result.passed, result.summary_line()


def test_bytecode_beside_a_step_file_never_runs(verifier: StepVerifier, step_options: OptionsFactory,
                                                tmp_path: Path) -> None:
    """A forged __pycache__ entry (unchecked hash: Python would use it without reading the
    source) holds a wrong kernel; the worker reads bytecode only from its private prefix, so
    the source the rules checked is what runs and the step passes."""
    import importlib.util
    import py_compile

    step = tmp_path / "step"
    shutil.copytree(Path(__file__).parent / "corpus" / "honest" / "semantic_rmsnorm_kernel", step)
    source = step / "children" / "linear_8x8_fp32.py"
    forged = tmp_path / "forged.py"
    forged.write_text(source.read_text().replace("return self.linear(x)",
                                                 "return self.linear(x) * 0.5"))
    cache = Path(importlib.util.cache_from_source(str(source)))
    py_compile.compile(str(forged), cfile=str(cache), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    assert cache.is_file() and cache.parent.name == "__pycache__"
    result = verifier.verify(step_options(step))
    assert result.status == "PASS", result.summary_line()


_CAPABILITY_PROBE = """
import sys
from pathlib import Path

import torch

from verifier.runtime import isolation

work = Path(sys.argv[1])
isolation.enter(isolation.View(refactored=None, children_dir=None, scratch=work / "scratch",
                               root=work / "root"))
print(torch.backends.cpu.get_cpu_capability())
"""


def test_torch_keeps_the_hosts_cpu_kernels_inside_the_view(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that has imported torch but computed nothing yet, as the workers do when they
    enter: without /proc, torch's first look at the CPU would fail inside the view and fall back
    to its unvectorised kernels (slower, and rounding unlike the run they are compared with)."""
    import subprocess
    import sys

    import torch

    from verifier.runtime import isolation

    monkeypatch.delenv(isolation.ENV, raising=False)
    if isolation.mode() != isolation.NAMESPACE:
        pytest.fail("namespaces are unavailable on this machine; the view cannot be tested")
    (tmp_path / "scratch").mkdir()
    proc = subprocess.run([sys.executable, "-c", _CAPABILITY_PROBE, str(tmp_path)],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == torch.backends.cpu.get_cpu_capability()
