"""Bad input ends in one clear line and exit code 2, never a traceback, and writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixture_paths import MODELS, TESTS
from hdecomp.cli import main

BAD = TESTS / "bad_inputs"

# model file -> (extra flags, a fragment the one-line message must contain)
CASES: dict[str, tuple[list[str], str]] = {
    "syntax_error": ([], "syntax error at line 2"),
    "missing_dependency": ([], "import failed"),
    "import_time_error": ([], "running the file failed"),
    "no_model_class": ([], "no nn.Module class named 'Model'"),
    "model_not_module": ([], "no nn.Module class named 'Model'"),
    "no_get_inputs": ([], "no get_inputs() function"),
    "get_inputs_raises": ([], "get_inputs() raised ValueError"),
    "get_inputs_dict": ([], "get_inputs() returned dict"),
    "get_inputs_string": ([], "get_inputs()[0] is str"),
    "get_inputs_none": ([], "get_inputs() returned NoneType"),
    "get_init_inputs_raises": ([], "get_init_inputs() raised KeyError"),
    "constructor_raises": ([], "Model(*get_init_inputs()) raised TypeError"),
    "forward_raises": ([], "forward is broken"),
    "shape_mismatch": ([], "forward() raised RuntimeError at line 8 (`def forward(self, x): return self.fc(x)`)"),
    "matmul_shape_error": ([], "forward() raised RuntimeError at line 12 (`return y @ torch.ones(16, 4)`)"),
    "exits_at_import": ([], "importing the file called sys.exit(0)"),
    "exits_in_forward": ([], "forward() called sys.exit(3)"),
    "returns_none": ([], "not tensors"),
    "returns_string": ([], "forward() returns str, not tensors"),
    "data_dependent_branch": ([], "take another branch than those of seed 42"),
    "item_in_forward": ([], "take another branch than those of seed 42"),
    "value_sized_tensor": ([], "size depends on the input values (`where` at line 9)"),
    "forward_missing_argument": ([], "could not trace"),
    "empty_file": ([], "no nn.Module class named 'Model'"),
    "sleeps_forever": (["--timeout", "3"], "did not finish within 3s"),
    "constructor_sleeps": (["--timeout", "3"], "did not finish within 3s"),
    "allocates_forever": (["--memory-limit", "1"], "more than 1.0 GiB of memory"),
    "tiny_mlp_wrong_class": (["--class", "Missing"], "no nn.Module class named 'Missing'"),
}


def _check_one_line(output: str) -> str:
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_file(case: str, tmp_path: Path) -> None:
    flags, fragment = CASES[case]
    model = MODELS / "tiny_mlp.py" if case == "tiny_mlp_wrong_class" else BAD / f"{case}.py"
    out = tmp_path / "out"
    start = time.monotonic()
    result = CliRunner().invoke(main, ["lower", str(model), "-o", str(out), "--no-verify", *flags])
    assert result.exit_code == 2, result.output
    line = _check_one_line(result.output)
    assert fragment in line, line
    assert str(model) in line, "the message names the file"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "nothing written beside the target"
    assert time.monotonic() - start < 60


def test_torch_logs_stay_off_stderr(tmp_path: Path) -> None:
    """A failing fake-tensor op makes torch log its traceback on the real stderr: only our line
    may reach the user (a subprocess, since CliRunner would not see torch's own handlers)."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "hdecomp", "lower", str(BAD / "matmul_shape_error.py"),
                           "-o", str(out), "--no-verify"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    line = _check_one_line(proc.stdout + proc.stderr)
    assert "at line 12" in line and "control flow" not in line
    assert not out.exists()


def test_path_problems(tmp_path: Path) -> None:
    cases = {
        str(tmp_path / "missing.py"): "does not exist",
        str(tmp_path): "not a file",
    }
    latin1 = tmp_path / "latin1.py"
    latin1.write_bytes("# caf\xe9\nimport torch\n".encode("latin-1"))
    cases[str(latin1)] = "not UTF-8"
    for path, fragment in cases.items():
        result = CliRunner().invoke(main, ["lower", path, "-o", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert fragment in _check_one_line(result.output)
        assert not (tmp_path / "o").exists()


def test_unknown_pass_lists_valid_names() -> None:
    result = CliRunner().invoke(main, ["ir", str(MODELS / "tiny_mlp.py"), "--passes", "fuse"])
    assert result.exit_code == 2
    line = _check_one_line(result.output)
    assert "unknown pass 'fuse'" in line and "group_fusions" in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--debug", "lower", str(BAD / "forward_raises.py"),
                                       "-o", str(tmp_path / "o"), "--no-verify"])
    assert result.exit_code == 2
    assert "Traceback" in result.output


def _tree_snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_lowering_leaves_the_old_tree(sig: int, tmp_path: Path) -> None:
    out = tmp_path / "tree"
    cmd = [sys.executable, "-m", "hdecomp.cli", "lower", str(MODELS / "tiny_transformer.py"),
           "-o", str(out)]
    subprocess.run(cmd + ["--no-verify"], check=True, capture_output=True, timeout=300)
    (out / "agent_notes.md").write_text("hours of agent work")
    before = _tree_snapshot(out)
    proc = subprocess.Popen(cmd + ["--force"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # Kill it while the new tree is being built and verified beside the old one.
    while time.monotonic() < deadline and not any(
            p.name.startswith(".tree.staging-") and (p / "steps").exists()
            for p in tmp_path.iterdir()):
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert _tree_snapshot(out) == before
    if sig == signal.SIGTERM:
        assert [p.name for p in tmp_path.iterdir()] == ["tree"], "staging cleaned up"
    else:
        assert all(p.name == "tree" or p.name.startswith(".tree.staging-")
                   for p in tmp_path.iterdir())


def test_force_replaces_the_whole_tree(tmp_path: Path) -> None:
    out = tmp_path / "tree"
    runner = CliRunner()
    assert runner.invoke(main, ["lower", str(MODELS / "tiny_mlp.py"), "-o", str(out),
                                "--no-verify"]).exit_code == 0
    (out / "stale.txt").write_text("old")
    result = runner.invoke(main, ["lower", str(MODELS / "tiny_conv_block.py"), "-o", str(out),
                                  "--no-verify", "--force"])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists()
    tree = json.loads((out / "decomposition_tree.json").read_text())
    assert tree["metadata"]["model_name"] == "tiny_conv_block"
    assert [p.name for p in tmp_path.iterdir()] == ["tree"]


def test_trace_limit_grows_with_the_model_and_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from frontend.limits import TRACE_BASE_S, progress_lines, trace_allowance

    assert trace_allowance(torch.nn.Linear(8, 8)) == pytest.approx(TRACE_BASE_S)
    with torch.device("meta"):
        big = torch.nn.Embedding(2_000_000, 1000)  # 2e9 parameters, no memory on meta
    assert trace_allowance(big) == pytest.approx(TRACE_BASE_S + 60.0)
    with progress_lines("tracing the model", "m.py", 60.0, every=0.05):
        time.sleep(0.3)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) >= 3
    assert lines[0] == "tracing the model (m.py): still running after 0s (limit 60s)"


def test_all_nan_outputs_cannot_pass(tmp_path: Path) -> None:
    """Every decomposition "matches" a NaN output: lowering refuses it instead of a PASS."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "hdecomp", "lower", str(BAD / "all_nan_output.py"),
                           "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # progress lines may come first; the error is one line, the last, with no traceback
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [proc.stderr.strip().splitlines()[-1]], proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    line = errors[0]
    assert line.startswith(f"error: {BAD / 'all_nan_output.py'}: "), line
    assert "the original's output is all NaN on the inputs of trial 1" in line
    assert "PASS" not in proc.stdout
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
