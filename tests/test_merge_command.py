"""`hdecomp merge` and the agent's whole working loop (issue 16), run for real.

One lowering of tests/models/tiny_mha.py (an encoder layer, then attention written with bmm,
softmax and bmm as three kernels of one step) is shared by the module; each test edits a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from fixture_paths import MODELS
from test_edit_commands import hdecomp
from workflow.edit.merge import plan_region

ATTENTION = ("root.bmm", "root.softmax", "root.bmm_1")


@pytest.fixture(scope="module")
def lowered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lowered") / "mha"
    proc = hdecomp("lower", str(MODELS / "tiny_mha.py"), "-o", str(out), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture
def tree_copy(lowered: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "mha"
    shutil.copytree(lowered, dest)
    return dest


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_agent_workflow_rename_merge_verify_break(tree_copy: Path, tmp_path: Path) -> None:
    """Lower, rename a component, merge three kernels into a fusion with its own step, verify
    PASS; then break a kernel of the new fusion and see FAIL naming the kernel's file and line."""
    proc = hdecomp("rename", str(tree_copy), "linear_relu_16x32_fp32", "mlp_up_16x32_fp32")
    assert proc.returncode == 0, proc.stderr
    assert "attribute: steps/step_1_tiny_mha_to_fusions/refactored.py: self.linear_relu -> " \
           "self.mlp_up" in proc.stdout
    # the agent works from inside the tree, with a relative path
    proc = hdecomp("merge", ".", *ATTENTION, "--as", "attention_core_fp32", cwd=tree_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "emitted, not verified" in proc.stdout
    fusion = tree_copy / "level_1_fusion" / "attention_core_fp32.py"
    step = tree_copy / "steps" / "step_2_attention_core_fp32_to_kernels"
    assert fusion.is_file() and (step / "refactored.py").is_file()
    assert sorted(p.name for p in (step / "children").glob("*.py")) == [
        "bmm_4x6x6_4x6x8_fp32.py", "bmm_4x6x8_4x8x6_fp32.py", "softmax_4x6x6_fp32.py"]
    parent = (tree_copy / "steps" / "step_1_tiny_mha_to_fusions" / "refactored.py").read_text()
    assert "softmax, bmm_1 = self.attention_core(mul, transpose_12, transpose_11)" in parent
    assert "self.softmax" not in parent and "Softmax4x6x6Fp32" not in parent
    # the fusion file is a standalone KernelBench file: its own self-test runs
    run = subprocess.run([sys.executable, str(fusion)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.strip().endswith("PASS"), run.stdout + run.stderr
    tree = json.loads((tree_copy / "decomposition_tree.json").read_text())
    node = tree["nodes"]["root.attention_core"]
    assert node["level"] == "fusion" and node["step"] == step.name
    assert node["children"] == [f"root.attention_core.{a}" for a in ("bmm", "softmax", "bmm_1")]
    assert "root.bmm" not in tree["nodes"]
    verify = hdecomp("verify", str(tree_copy), "--no-coverage")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "PASS: " in verify.stdout and "FAIL" not in verify.stdout
    # every whole-tree check says its verdict, passing ones too
    checks = [l for l in verify.stdout.splitlines() if l.startswith(("composition:", "self-tests:",
                                                                    "coverage:"))]
    assert checks[0] == "composition: PASS" and checks[2] == "coverage: NOT_RUN", checks
    assert checks[1].startswith("self-tests: ") and checks[1].endswith(" PASS"), checks
    tree = json.loads((tree_copy / "decomposition_tree.json").read_text())
    assert tree["metadata"]["verification_status"] == "PASSED"
    commands = [e["command"] for e in
                json.loads((tree_copy / "decomposition_log.json").read_text())["entries"]]
    assert commands == ["lower", "rename", "merge", "verify"]

    # Break the new fusion's softmax, as an agent editing the kernel would, and sync.
    kernel = tree_copy / "level_0_kernel" / "softmax_4x6x6_fp32.py"
    kernel.write_text(kernel.read_text().replace("dim=-1", "dim=-2"))
    line = next(i for i, text in enumerate(kernel.read_text().splitlines(), 1) if "dim=-2" in text)
    assert hdecomp("sync", str(tree_copy)).returncode == 0
    verify = hdecomp("verify", str(tree_copy), "--no-coverage")
    assert verify.returncode == 1, verify.stdout + verify.stderr
    fail = next(l for l in verify.stdout.splitlines()
                if l.startswith("FAIL step step_2_attention_core_fp32_to_kernels"))
    assert f"children/softmax_4x6x6_fp32.py:{line}" in fail


def test_merge_moves_independent_statements_and_verifies(tree_copy: Path) -> None:
    """Between linear_2 and bmm the parent runs another child (self.linear_3) and plumbing that
    feeds bmm without reading linear_2: they move before the fusion's call; the scale between
    them becomes the fusion's; an encoder out-projection merged with its norm takes the
    residual add in between."""
    proc = hdecomp("merge", str(tree_copy), "root.linear_2", "root.bmm", "--as", "q_scores_fp32")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = hdecomp("merge", str(tree_copy), "root.linear_1", "enc_norm1_never", "--as", "x_fp32")
    assert proc.returncode == 2 and "did you mean" in proc.stderr
    proc = hdecomp("merge", str(tree_copy), "root.linear_1", "root.enc_norm1", "--as",
                   "out_proj_norm_16_fp32")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fusion = (tree_copy / "level_1_fusion" / "q_scores_fp32.py").read_text()
    assert "mul = transpose_9 * 0.3535533905932738" in fusion
    assert "def forward(self, transpose_6, transpose_12):" in fusion
    parent = (tree_copy / "steps" / "step_1_tiny_mha_to_fusions" / "refactored.py").read_text()
    lines = [l.strip() for l in parent.splitlines()]
    assert lines.index("linear_4 = self.linear_3(transpose_7)") < \
        lines.index("bmm = self.q_scores(transpose_6, transpose_12)")
    assert "layer_norm = self.out_proj_norm(reshape, x)" in lines
    wmap = json.loads((tree_copy / "steps" / "step_1_tiny_mha_to_fusions" /
                       "weight_map.json").read_text())
    assert wmap["attn.in_proj_weight"][0] == "q_scores.linear_2.in_proj_weight"
    assert wmap["enc.norm1.weight"] == "out_proj_norm.enc_norm1.layer_norm.weight"
    verify = hdecomp("verify", str(tree_copy), "--no-coverage", "--quiet")
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize("args, words", [
    (("root.bmm", "--as", "attention_core_fp32"), "at least two children"),
    (("root.bmm", "root.bmm_9", "--as", "core"), "no child 'root.bmm_9'"),
    (("root.bmm", "root.linear_relu", "--as", "core"), "is a fusion, not a kernel"),
    (("root.bmm", "root.linear_relu.relu", "--as", "core"), "do not share one parent"),
    (("root.bmm", "root.softmax", "--as", "Core"), "invalid component name"),
    (("root.bmm", "root.softmax", "--as", "relu_fp32"), "already exists"),
    (("root.bmm", "layer_norm_16_fp32", "--as", "core"), "has 2 instances"),
    (("root.bmm", "root.mean", "--as", "core"), "self.softmax runs between"),
])
def test_merge_bad_input_changes_nothing(tree_copy: Path, args: tuple[str, ...],
                                         words: str) -> None:
    before = _files(tree_copy)
    proc = hdecomp("merge", str(tree_copy), *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert _files(tree_copy) == before
    assert not [p for p in tree_copy.parent.iterdir() if p.name.startswith(".")]


def _forward(src: str) -> cst.FunctionDef:
    module = cst.parse_module(src)
    return next(n for n in module.body[0].body.body if isinstance(n, cst.FunctionDef))


def test_plan_region_before_after() -> None:
    """Which statements of a forward() the fusion takes, which move before and after it."""
    forward = _forward(
        "class RefactoredModel:\n"
        "    def forward(self, x, y):\n"
        "        a = self.k1(x)\n"                # 0 chosen
        "        b = y.t()\n"                     # 1 feeds k2, independent of k1: before
        "        c = a * 2\n"                     # 2 between the chosen: fused
        "        d = a.sum()\n"                   # 3 reads k1, feeds nothing chosen: after
        "        e = self.k2(c, b)\n"             # 4 chosen
        "        return e + d\n")
    region = plan_region(forward, ["k1", "k2"], "refactored.py")
    assert (region.fused, region.before, region.after) == ([0, 2, 4], [1], [3])
    assert region.inputs == ["x", "b"]
    assert region.outputs == ["a", "e"]  # `a` is read by the moved statement 3


def test_plan_region_refuses_reassigned_names() -> None:
    from hdecomp_ir.errors import UserInputError

    forward = _forward("class M:\n    def forward(self, x):\n        x = self.k1(x)\n"
                       "        y = self.k2(x)\n        return y\n")
    with pytest.raises(UserInputError, match="assigned twice"):
        plan_region(forward, ["k1", "k2"], "refactored.py")


def test_a_shell_inside_the_tree_survives_an_edit(tree_copy: Path) -> None:
    """The prompts have the agent work inside the tree: after an edit that changes files, the
    same working directory still is the tree (the edit keeps its folders)."""
    step = tree_copy / "steps" / "step_1_tiny_mha_to_fusions"
    proc = hdecomp("merge", ".", *ATTENTION, "--as", "attention_core_fp32", cwd=tree_copy)
    assert proc.returncode == 0, proc.stderr
    proc = hdecomp("sync", ".", cwd=tree_copy)  # the same cwd, after the edit
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # merge wrote every file sync would; what is left is the verdict the edit made stale
    assert proc.stdout.splitlines()[-1] == "sync: nothing to change in .; 1 step(s) stale", proc.stdout
    assert "stale: steps/step_1_tiny_mha_to_fusions" in proc.stdout
    assert (step / "refactored.py").is_file()  # a folder that persists is the same folder


def test_a_deleted_working_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import os, subprocess, sys; os.chdir(sys.argv[1]); "
                             "os.rmdir(sys.argv[1]); sys.exit(subprocess.call([sys.executable, '-m', "
                             "'hdecomp', 'verify', sys.argv[2]]))", str(gone), str(tmp_path)],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [err.strip()] and "current directory no longer exists" in err


def test_merge_kernels_with_buffer_sidecars_in_a_llama_block(tmp_path: Path) -> None:
    """The RoPE of q and of k each ship a .buffers.pt (cos, sin, the same tables): the fusion
    gets one sidecar; the step's shapes still come from the meta run (sidecars are loaded onto
    meta), and the tree verifies."""
    import torch

    out = tmp_path / "llama"
    model = Path(__file__).resolve().parents[1] / "data" / "level3" / "31_LlamaDecoderBlock.py"
    assert hdecomp("lower", str(model), "-o", str(out), "--no-verify", "--quiet").returncode == 0
    proc = hdecomp("merge", str(out), "root.attention.rotary_embedding",
                   "root.attention.rotary_embedding_1", "--as", "rotary_qk_fp32")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    buffers = torch.load(out / "level_1_fusion" / "rotary_qk_fp32.buffers.pt", weights_only=True)
    assert sorted(buffers) == ["cos_cached", "sin_cached"]
    verify = hdecomp("verify", str(out), "--quiet", "--no-coverage")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # A hand edit of a parent, then sync: the step whose result no longer matches is named.
    parent = out / "steps" / "step_2_attention_1024x1024_fp32_to_fusions" / "refactored.py"
    parent.write_text(parent.read_text() + "\n")
    proc = hdecomp("sync", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "stale: steps/step_2_attention_1024x1024_fp32_to_fusions" in proc.stdout


def test_sync_takes_changed_header_shapes_into_the_tree(tree_copy: Path) -> None:
    """A component whose header shapes changed (an agent rewrote it) has those shapes in the
    tree after sync; unchanged ones keep the tree's own value names."""
    kernel = tree_copy / "level_0_kernel" / "softmax_4x6x6_fp32.py"
    kernel.write_text(kernel.read_text().replace("  - output: [4, 6, 6]", "  - output: [4, 6, 7]"))
    assert hdecomp("sync", str(tree_copy)).returncode == 0
    nodes = json.loads((tree_copy / "decomposition_tree.json").read_text())["nodes"]
    assert list(nodes["root.softmax"]["output_shapes"].values()) == [[4, 6, 7]]
    assert list(nodes["root.softmax"]["input_shapes"]) == ["bmm"]  # the parent's value name


def test_lower_over_an_edited_tree_names_the_edits(tree_copy: Path) -> None:
    assert hdecomp("rename", str(tree_copy), "relu_fp32", "relu_act_fp32").returncode == 0
    before = _files(tree_copy)
    proc = hdecomp("lower", str(MODELS / "tiny_mha.py"), "-o", str(tree_copy))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "holds 1 edit(s)" in proc.stderr, proc.stderr
    assert _files(tree_copy) == before
