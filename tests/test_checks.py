"""`hdecomp verify`, `hdecomp test` and `hdecomp coverage` on drafts of the tiny models."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixture_paths import MODELS
from workflow.layout import check_layout
from workflow.verify_tree import freshness
from hdecomp.cli import main

STEP = "step_1_tiny_mlp_to_kernels"


def lower(model: str, out: Path, *extra: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower", str(MODELS / f"{model}.py"),
                           "-o", str(out), *extra], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def mlp_draft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("draft") / "tiny_mlp"
    lower("tiny_mlp", out)
    return out


@pytest.fixture
def mlp(mlp_draft: Path, tmp_path: Path) -> Path:
    """A private copy of the verified tiny_mlp draft."""
    out = tmp_path / "tiny_mlp"
    shutil.copytree(mlp_draft, out)
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file that verify must never modify: components, steps' sources, composition test
    (decomposition_log.json gets verify's entry)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name not in ("verification_result.json", "coverage_report.json",
                                                "decomposition_log.json") \
                and path.parent.name != "verification" or path.name == "composition_test.py":
            files[str(path.relative_to(out))] = path.read_bytes()
    return files


def test_verify_clean_draft(mlp: Path) -> None:
    lowered = json.loads((mlp / "verification/step_verification_summary.json").read_text())
    before = snapshot(mlp)
    code, out = cli("verify", str(mlp))
    assert code == 0, out
    assert f"PASS: {mlp}" in out
    assert snapshot(mlp) == before
    entries = json.loads((mlp / "decomposition_log.json").read_text())["entries"]
    assert entries[-1]["command"] == "verify" and entries[-1]["verdict"] == "PASSED"
    summary = json.loads((mlp / "verification/step_verification_summary.json").read_text())
    # lower and verify write the summary with one writer: the same keys, the tree's own path.
    assert set(summary) == set(lowered) and set(summary["steps"][0]) == set(lowered["steps"][0])
    assert Path(lowered["decomp_dir"]).name == "tiny_mlp" and summary["decomp_dir"] == str(mlp)
    for key in ("timestamp", "decomp_dir", "status", "total_steps", "passed", "failed", "skipped", "steps"):
        assert key in summary
    assert summary["status"] == "PASS" and summary["total_steps"] == 1
    row = summary["steps"][0]
    assert row["step_name"] == STEP and row["verification_status"] == "PASS"
    assert row["coverage_pct"] == 100.0 and row["anticheat_status"] == "PASS"
    assert row["checked"] == "reused"  # lower's result is fresh: verified once, not twice
    tests = json.loads((mlp / "verification/test_results.json").read_text())
    for key in ("timestamp", "total_components", "passed", "failed", "composition_test",
                "max_difference", "component_results"):
        assert key in tests
    assert tests["total_components"] == 5 and tests["failed"] == 0
    assert tests["composition_test"] == "PASSED"
    assert {"file": "level_0_kernel/gelu_fp32.py", "status": "PASS"}.items() <= \
        next(r for r in tests["component_results"] if r["file"].endswith("gelu_fp32.py")).items()
    cov = json.loads((mlp / "verification/coverage_summary.json").read_text())
    assert cov["status"] == "FULL_COVERAGE" and cov["extraction_method"]
    assert cov["coverage"]["coverage_pct"] == 100.0
    assert {"total_original_ops", "total_decomposed_ops", "covered_op_count", "missing_op_types",
            "extra_op_types", "op_details"} <= set(cov["coverage"])
    step_cov = json.loads((mlp / "steps" / STEP / "coverage_report.json").read_text())
    assert step_cov["status"] == "FULL_COVERAGE"


WRONG_GELU = ("        gelu = self.gelu(x)\n", "        gelu = torch.relu(x)\n")


def _break_gelu(path: Path) -> None:
    text = path.read_text()
    assert WRONG_GELU[0] in text
    path.write_text(text.replace(*WRONG_GELU))


def test_wrong_kernel_fails_composition_and_layout(mlp: Path) -> None:
    _break_gelu(mlp / "level_0_kernel/gelu_fp32.py")
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 1, out
    assert "FAIL composition" in out
    assert f"step_child_mismatch: steps/{STEP}/children/gelu_fp32.py" in out
    summary = json.loads((mlp / "verification/step_verification_summary.json").read_text())
    assert summary["status"] == "FAIL" and summary["composition_test"] == "FAIL"


def test_wrong_kernel_in_step_fails_step(mlp: Path) -> None:
    _break_gelu(mlp / "level_0_kernel/gelu_fp32.py")
    _break_gelu(mlp / "steps" / STEP / "children/gelu_fp32.py")
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 1, out
    assert f"STALE {STEP}" in out
    assert f"FAIL step {STEP}: numerics" in out
    assert "FAIL composition" in out
    result = json.loads((mlp / "steps" / STEP / "verification_result.json").read_text())
    assert result["status"] == "FAIL"
    summary = json.loads((mlp / "verification/step_verification_summary.json").read_text())
    assert summary["failed"] == 1 and summary["steps"][0]["verification_status"] == "FAIL"


def test_edited_refactored_is_stale_and_rerun(mlp: Path) -> None:
    refactored = mlp / "steps" / STEP / "refactored.py"
    result_file = mlp / "steps" / STEP / "verification_result.json"
    old = json.loads(result_file.read_text())
    refactored.write_text(refactored.read_text() + "\n# edited after verification\n")
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 0, out
    assert f"STALE {STEP}: refactored.py (changed)" in out
    new = json.loads(result_file.read_text())
    assert new["files"]["refactored.py"] != old["files"]["refactored.py"]
    summary = json.loads((mlp / "verification/step_verification_summary.json").read_text())
    assert summary["stale_steps"] == [STEP] and summary["steps"][0]["checked"] == "verified"
    # Fresh again: the next verify would reuse it.
    assert freshness(mlp / "steps" / STEP) == (new, "")


def test_not_a_decomposition(tmp_path: Path) -> None:
    code, out = cli("verify", str(tmp_path))
    assert code == 2 and "not a decomposition" in out
    code, out = cli("verify", str(tmp_path / "missing"))
    assert code == 2


def test_layout_rules(mlp: Path) -> None:
    assert check_layout(mlp) == []
    # An agent's tree need not name steps: the step is found by its original.py.
    tree_file = mlp / "decomposition_tree.json"
    tree = json.loads(tree_file.read_text())
    del tree["nodes"]["root"]["step"]
    tree_file.write_text(json.dumps(tree))
    assert check_layout(mlp) == []
    (mlp / "steps" / STEP / "original.py").write_text("# not the parent\n")
    assert ("missing_step", "level_1_fusion/tiny_mlp.py") in {(p.rule, p.file) for p in check_layout(mlp)}
    tree_file = mlp / "decomposition_tree.json"
    tree = json.loads(tree_file.read_text())
    tree["nodes"]["root.act"]["level"] = "fusion"          # a leaf that is not a kernel
    tree["nodes"]["root.fc1"]["instance_count"] = 3         # one node uses it
    tree_file.write_text(json.dumps(tree))
    (mlp / "level_0_kernel/linear_32x16_fp32.py").unlink()
    (mlp / "level_0_kernel/extra_fp32.py").write_text("")
    rules = {(p.rule, p.file) for p in check_layout(mlp)}
    assert ("leaf_not_kernel", "level_0_kernel/gelu_fp32.py") in rules
    assert ("wrong_level_folder", "level_0_kernel/gelu_fp32.py") in rules
    assert ("header_level", "level_0_kernel/gelu_fp32.py") in rules
    assert ("instance_count", "level_0_kernel/linear_16x32_fp32.py") in rules
    assert ("tree_file_missing", "level_0_kernel/linear_32x16_fp32.py") in rules
    assert ("component_not_in_tree", "level_0_kernel/extra_fp32.py") in rules
    (mlp / "decomposition_analysis.md").unlink()
    assert ("missing_required", "decomposition_analysis.md") in {(p.rule, p.file) for p in check_layout(mlp)}


def test_selftests_command(mlp: Path) -> None:
    (mlp / "level_0_kernel/gelu_fp32.py").write_text(
        (mlp / "level_0_kernel/gelu_fp32.py").read_text().replace(
            "return [(2, 4, 32)]", "return [(2, 4, 33)]"))
    (mlp / "level_0_kernel/relu_hang_fp32.py").write_text("import time\ntime.sleep(60)\n")
    (mlp / "level_0_kernel/zz_exit_fp32.py").write_text("import os\nos._exit(3)\n")
    code, out = cli("test", str(mlp), "--timeout", "5", "--no-composition")
    assert code == 1, out
    data = json.loads((mlp / "verification/test_results.json").read_text())
    status = {r["file"]: r for r in data["component_results"]}
    assert len(status) == 7 and data["failed"] == 3 and data["passed"] == 4
    assert status["level_0_kernel/gelu_fp32.py"]["status"] == "FAIL"
    assert "timed out" in status["level_0_kernel/relu_hang_fp32.py"]["detail"]
    assert "died" in status["level_0_kernel/zz_exit_fp32.py"]["detail"]
    assert status["level_1_fusion/tiny_mlp.py"]["status"] == "PASS"
    assert "FAIL level_0_kernel/gelu_fp32.py" in out


@pytest.mark.parametrize("model", ["tiny_transformer", "tiny_conv_block"])
def test_coverage_full_for_tiny_models(model: str, tmp_path: Path) -> None:
    out = tmp_path / model
    lower(model, out, "--no-verify")
    report = tmp_path / "coverage_report.json"
    code, text = cli("coverage", "--model", str(MODELS / f"{model}.py"), "--decomp-dir", str(out),
                     "--output", str(report))
    assert code == 0, text
    data = json.loads(report.read_text())
    assert data["status"] == "FULL_COVERAGE" and data["coverage"]["coverage_pct"] == 100.0
    assert data["extraction_method"] and data["plumbing"]["total_original_ops"] >= 0
    tree = json.loads((out / "decomposition_tree.json").read_text())
    # Kernels count per instance: a file used n times contributes n times its ops.
    used = {p: sum(1 for n in tree["nodes"].values() if n["path"] == p and n["level"] == "kernel")
            for p in {n["path"] for n in tree["nodes"].values()}}
    assert {f["file"]: f["instances"] for f in data["decomposed_files"]} == \
        {p: n for p, n in used.items() if n}


def test_coverage_children_reports_missing(mlp: Path, tmp_path: Path) -> None:
    kernels = mlp / "level_0_kernel"
    code, text = cli("coverage", "--model", str(MODELS / "tiny_mlp.py"),
                     "--children", str(kernels / "gelu_fp32.py"), str(kernels / "linear_16x32_fp32.py:2"),
                     "--output", str(tmp_path / "c.json"))
    assert code == 1, text
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["status"] == "PARTIAL_COVERAGE"
    assert data["coverage"]["missing_op_types"] == ["layer_norm"]
    details = {d["op_type"]: d for d in data["coverage"]["op_details"]}
    assert details["linear"]["decomposed_count"] == 2 and details["linear"]["status"] == "covered"
    code, text = cli("coverage", "--model", str(MODELS / "tiny_mlp.py"), "--output", str(tmp_path / "c.json"))
    assert code == 2


def test_batch_verifies_every_decomposition(mlp: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    shutil.move(str(mlp), root / "good")
    shutil.copytree(root / "good", root / "bad")
    _break_gelu(root / "bad/level_0_kernel/gelu_fp32.py")
    code, out = cli("batch", str(root), "-j", "2", "--time-limit", "300")
    assert code == 1, out
    report = json.loads((root / "batch_report.json").read_text())
    assert report["total"] == 2 and report["passed"] == 1
    runs = {m["name"]: m for m in report["models"]}
    assert runs["good"]["verify"] == "PASS" and runs["good"]["coverage_pct"] == 100.0
    assert runs["bad"]["verify"] == "FAIL" and runs["bad"]["composition"] == "FAIL"
    assert "FAIL bad:" in out and "model" in out.splitlines()[0]
    code, out = cli("batch", str(root / "good"), "--time-limit", "1", "--report", str(tmp_path / "r.json"))
    assert code == 1
    assert json.loads((tmp_path / "r.json").read_text())["models"][0]["verify"] == "TIMEOUT"
    code, out = cli("batch", str(tmp_path / "empty_dir_missing"))
    assert code == 2


def test_batch_lower_walks_folders_and_survives_a_broken_model(tmp_path: Path) -> None:
    src = tmp_path / "zoo"
    (src / "good").mkdir(parents=True)
    (src / "bad").mkdir()
    shutil.copy(MODELS / "single_relu.py", src / "good/relu.py")
    (src / "bad/broken.py").write_text("import torch\nclass Model(torch.nn.Module):\n    def forward(self, x)\n")
    (src / "_helpers.py").write_text("raise SystemExit('not a model')\n")
    out_root = tmp_path / "out"
    code, out = cli("batch", "--lower", str(src), "-o", str(out_root), "-j", "2", "--time-limit", "300")
    assert code == 1, out
    report = json.loads((out_root / "batch_report.json").read_text())
    runs = {m["name"]: m for m in report["models"]}
    assert sorted(runs) == ["bad/broken", "good/relu"]
    assert runs["good/relu"]["ok"] and runs["good/relu"]["coverage_pct"] == 100.0
    assert (out_root / "good/relu/decomposition_tree.json").is_file()
    assert runs["bad/broken"]["lower"] == "ERROR" and "syntax error" in runs["bad/broken"]["detail"]
    assert "FAIL bad/broken: " in out and "1/2 models pass" in out


def test_verify_relative_and_absolute_paths_from_two_directories(mlp: Path, tmp_path: Path) -> None:
    """`hdecomp verify DIR` as `hdecomp prompt` prints it (relative) and absolute, from two
    working directories: the composition test once ran under a doubled relative path."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs = [(mlp.parent, mlp.name), (mlp.parent, str(mlp)), (elsewhere, str(mlp)),
            (elsewhere, f"../{mlp.name}")]
    for cwd, arg in runs:
        proc = subprocess.run([sys.executable, "-m", "hdecomp", "verify", arg, "--rerun-all"],
                              capture_output=True, text=True, timeout=600, cwd=cwd)
        assert proc.returncode == 0, (cwd, arg, proc.stdout + proc.stderr)
        summary = json.loads((mlp / "verification/step_verification_summary.json").read_text())
        assert summary["composition_test"] == "PASS", (cwd, arg, summary)
