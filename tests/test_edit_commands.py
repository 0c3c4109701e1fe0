"""The agent's edit commands (issue 16), run for real on one lowered tree.

`hdecomp sync`, `hdecomp rename` and the naming rule; `merge` and the whole loop are in
test_merge_command.py.
One lowering (tiny_conv_block, verified) is shared by the module; each test edits a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_paths import MODELS
from hdecomp_ir.naming import component_name_problem

REPO = Path(__file__).resolve().parents[1]


def hdecomp(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run([sys.executable, "-m", "hdecomp", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def lowered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lowered") / "cb"
    proc = hdecomp("lower", str(MODELS / "tiny_conv_block.py"), "-o", str(out), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture
def tree_copy(lowered: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "cb"
    shutil.copytree(lowered, dest)
    return dest


def test_component_name_rules() -> None:
    assert component_name_problem("attention_core") is None
    assert component_name_problem("relu_fp32") is None
    for bad in ("Attention", "1x", "for", "torch", "math", "a__b", "x_", "", "a-b"):
        assert component_name_problem(bad), bad


def test_sync_of_a_fresh_tree_changes_nothing(tree_copy: Path) -> None:
    before = (tree_copy / "decomposition_tree.json").read_bytes()
    proc = hdecomp("sync", str(tree_copy))
    assert proc.returncode == 0, proc.stderr
    assert "nothing to change" in proc.stdout
    assert (tree_copy / "decomposition_tree.json").read_bytes() == before


def test_sync_refreshes_headers_and_copies_and_marks_steps_stale(tree_copy: Path) -> None:
    from workflow.verify_tree import freshness

    kernel = tree_copy / "level_0_kernel" / "relu_fp32.py"
    text = kernel.read_text()
    kernel.write_text(text.replace("Parent: ", "Parent: wrong_", 1)
                      .replace("F.relu(x)", "F.relu6(x)"))
    proc = hdecomp("sync", str(tree_copy))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(l.startswith("header: level_0_kernel/relu_fp32.py: Parent ->") for l in lines)
    assert sum(l.startswith("copy: ") for l in lines) == 2  # both fusion steps hold a copy
    stale = [l for l in lines if l.startswith("stale: ")]
    assert len(stale) == 2
    for step in (tree_copy / "steps").iterdir():
        copy = step / "children" / "relu_fp32.py"
        if copy.is_file():
            assert copy.read_bytes() == kernel.read_bytes()
            assert freshness(step)[1].startswith("STALE")
    log = json.loads((tree_copy / "decomposition_log.json").read_text())
    assert log["entries"][-1]["command"] == "sync"
    assert log["entries"][-1]["changes"] == lines[:-1]


def test_bad_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = hdecomp("sync", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_relative_and_absolute_dir_from_two_cwds(tree_copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    for cwd, arg in ((tree_copy.parent, "cb"), (other, os.path.relpath(tree_copy, other)),
                     (other, str(tree_copy)), (REPO, str(tree_copy))):
        proc = hdecomp("sync", arg, cwd=cwd)
        assert proc.returncode == 0, (cwd, arg, proc.stderr)
    assert sorted(p.name for p in tree_copy.parent.iterdir() if p.name.startswith(".")) == []


def test_rename_then_verify_passes(tree_copy: Path) -> None:
    old = "conv2d_batch_norm_relu_3x8_3x3_fp32"
    proc = hdecomp("rename", str(tree_copy), old, "stem_block")
    assert proc.returncode == 0, proc.stderr
    assert (tree_copy / "level_1_fusion" / "stem_block.py").is_file()
    assert not (tree_copy / "level_1_fusion" / f"{old}.py").exists()
    assert (tree_copy / "steps" / "step_2_stem_block_to_kernels").is_dir()
    leftovers = [str(p) for p in tree_copy.rglob("*") if p.is_file() and p.suffix in (".py", ".json")
                 and p.name != "decomposition_log.json" and "verification_result" not in p.name
                 and "summary" not in p.name and old in p.read_text()]
    assert leftovers == []
    assert "stale: steps/step_2_stem_block_to_kernels" in proc.stdout
    verify = hdecomp("verify", str(tree_copy), "--quiet", "--no-coverage")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "3 stale" in verify.stdout  # re-verified, never a reused PASS
    log = json.loads((tree_copy / "decomposition_log.json").read_text())
    assert [e["command"] for e in log["entries"]] == ["lower", "rename", "verify"]
    assert log["entries"][-1]["verdict"] == "PASSED"


@pytest.mark.parametrize("args, words", [
    (("relu_fp3", "act"), "no component named 'relu_fp3'"),
    (("relu_fp32", "Act"), "invalid component name"),
    (("relu_fp32", "torch"), "invalid component name"),
    (("relu_fp32", "batch_norm_8_fp32"), "already exists"),
])
def test_rename_bad_input_changes_nothing(tree_copy: Path, args: tuple[str, str], words: str) -> None:
    before = {p: p.read_bytes() for p in tree_copy.rglob("*") if p.is_file()}
    proc = hdecomp("rename", str(tree_copy), *args)
    assert proc.returncode == 2 and words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert {p: p.read_bytes() for p in tree_copy.rglob("*") if p.is_file()} == before
    assert [p.name for p in tree_copy.parent.iterdir() if p.name.startswith(".")] == []
