"""`hdecomp lower` end to end on small models: the tree, its files executed for real, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixture_paths import MODELS
from hdecomp.cli import main

STRUCTURAL = ["tiny_mlp", "tiny_conv_block", "tiny_transformer", "tiny_vgg", "single_relu"]


def lower(model: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower",
                           str(MODELS / f"{model}.py"), "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=600)


def run_py(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=300, cwd=path.parent)


# Runs each file as `python file.py` would (run_name __main__), in one interpreter, so the suite
# pays for one torch import instead of one per file.
RUN_ALL = """
import runpy, sys
failed = []
for path in sys.argv[1:]:
    try:
        runpy.run_path(path, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    if code:
        failed.append(path)
print("FAILED:" + ",".join(failed))
"""


def run_all(paths: list[Path]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", RUN_ALL, *map(str, paths)], capture_output=True,
                          text=True, timeout=600)
    last = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAILED:")]
    assert last, proc.stdout + proc.stderr
    return [p for p in last[-1][len("FAILED:"):].split(",") if p]


@pytest.mark.parametrize("model", STRUCTURAL)
def test_emitted_files_run_and_compose(model: str, tmp_path: Path) -> None:
    out = tmp_path / model
    proc = lower(model, out, "--no-verify")
    assert proc.returncode == 0, proc.stderr
    files = sorted(out.glob("level_*/*.py"))
    assert files, "no component files"
    assert list(out.glob("level_0_kernel/*.py")), "no kernels"
    assert run_all(files) == []
    comp = run_py(out / "verification" / "composition_test.py")
    assert comp.returncode == 0 and comp.stdout.strip().endswith("PASS"), comp.stdout + comp.stderr
    tree = json.loads((out / "decomposition_tree.json").read_text())
    for node in tree["nodes"].values():
        assert (out / node["path"]).exists(), node["path"]
        if not node["children"]:
            assert node["level"] == "kernel"
    assert (out / "decomposition_analysis.md").exists()


def test_single_op_model_has_only_a_kernel(tmp_path: Path) -> None:
    out = tmp_path / "relu"
    assert lower("single_relu", out, "--no-verify").returncode == 0
    assert sorted(p.name for p in out.glob("level_*/*.py")) == ["relu_fp32.py"]
    assert not (out / "steps").exists()


def test_transformer_blocks_are_deduplicated(tmp_path: Path) -> None:
    out = tmp_path / "tt"
    assert lower("tiny_transformer", out, "--no-verify").returncode == 0
    tree = json.loads((out / "decomposition_tree.json").read_text())
    layers = [n for n in tree["nodes"].values() if n["level"] == "layer" and n["name"] == "block_16_fp32"]
    assert len(layers) == 2 and all(n["instance_count"] == 2 for n in layers)
    assert len(list(out.glob("level_2_layer/block_*.py"))) == 1
    steps = [p.name for p in (out / "steps").iterdir()]
    assert sum(1 for s in steps if s.startswith("step_2_block")) == 1
    assert not [p for p in out.glob("level_0_kernel/*_2.py")]


def _without_timestamps(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".json":
        obj = json.loads(data)

        def strip(o: object) -> object:
            if isinstance(o, dict):
                return {k: strip(v) for k, v in o.items() if k not in ("timestamp", "time")}
            if isinstance(o, list):
                return [strip(v) for v in o]
            return o
        return json.dumps(strip(obj)).encode()
    return data


def test_lowering_twice_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert lower("tiny_transformer", a, "--no-verify").returncode == 0
    assert lower("tiny_transformer", b, "--no-verify").returncode == 0
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert _without_timestamps(a / rel) == _without_timestamps(b / rel), rel


def test_existing_output_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("agent work")
    result = CliRunner().invoke(main, ["lower", str(MODELS / "tiny_mlp.py"), "-o", str(out),
                                       "--no-verify"])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert (out / "keep.txt").read_text() == "agent work"
    result = CliRunner().invoke(main, ["lower", str(MODELS / "tiny_mlp.py"), "-o", str(out),
                                       "--no-verify", "--force"])
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists()
    assert (out / "decomposition_tree.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"


def test_missing_model_file_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["lower", str(tmp_path / "nope.py"), "-o",
                                       str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (tmp_path / "o").exists()


def test_lower_verifies_every_step(tmp_path: Path) -> None:
    out = tmp_path / "verified"
    proc = lower("tiny_transformer", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "verification" / "step_verification_summary.json").read_text())
    assert summary["status"] == "PASS" and summary["composition_test"] == "PASS"
    # The tree's own path, never the staging folder lower built it in.
    assert summary["decomp_dir"] == str(out)
    assert summary["failures"] == [] and summary["coverage_status"] == "NOT_RUN"
    tree = json.loads((out / "decomposition_tree.json").read_text())
    assert tree["metadata"]["verification_status"] == "PASSED"
    steps = sorted(p.name for p in (out / "steps").iterdir())
    assert summary["total_steps"] == len(steps) == summary["passed"]
    for step in steps:
        result = json.loads((out / "steps" / step / "verification_result.json").read_text())
        assert result["status"] == "PASS", step
        assert result["numerical_comparison"]["num_trials"] == 3


def test_lower_fails_when_a_kernel_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The equivalence pass is not a rubber stamp: a wrong kernel makes lower exit 1."""
    import codegen.emit as emit

    real = emit.component_module

    def wrong(ir, comp, **kw):  # noqa: ANN001, ANN003, ANN202
        text = real(ir, comp, **kw)
        if comp.name.startswith("gelu"):
            text = text.replace("        return gelu\n", "        return gelu * 1.01\n")
            assert "gelu * 1.01" in text
        return text

    monkeypatch.setattr(emit, "component_module", wrong)
    from workflow.lower import LowerOptions, lower_model

    ok = lower_model(LowerOptions(model_file=MODELS / "tiny_mlp.py", output_dir=tmp_path / "bad"),
                     echo=lambda s: None)
    assert not ok
    summary = json.loads((tmp_path / "bad/verification/step_verification_summary.json").read_text())
    assert summary["status"] == "FAIL"
    assert summary["decomp_dir"] == str(tmp_path / "bad")
    assert summary["failures"] and all(f.startswith("FAIL ") for f in summary["failures"])


def test_inputs_of_log_and_rsqrt_of_a_mean_are_positive_and_away_from_zero(tmp_path: Path) -> None:
    import libcst as cst

    from codegen.files import input_expr
    from workflow.lower import build_ir

    model = tmp_path / "positive.py"
    model.write_text(
        "import torch\nimport torch.nn as nn\n\n"
        "class Model(nn.Module):\n"
        "    def forward(self, a, b, c):\n"
        "        return torch.log(a), torch.rsqrt(b.mean(-1) + 1e-5), c.mean(-1)\n\n"
        "def get_inputs():\n    return [torch.rand(4, 8), torch.rand(4, 8), torch.randn(4, 8)]\n\n"
        "def get_init_inputs():\n    return []\n")
    ir = build_ir(model)
    inputs = [n for n in ir.traced.graph.nodes if n.op == "placeholder"]
    code = [cst.Module([]).code_for_node(input_expr(ir, n)) for n in inputs]
    assert code[0] == code[1] == "torch.rand((4, 8), dtype=torch.float32) + 0.01", code
    assert code[2] == "torch.randn((4, 8), dtype=torch.float32)", code


def test_inputs_of_squares_and_odd_powers_are_signed(tmp_path: Path) -> None:
    """RMSNorm's `x.pow(2).mean()`, `x * x` and GELU-tanh's `pow(x, 3)` are defined on all reals:
    their self-tests draw signed inputs; a fractional power still needs a positive one."""
    import libcst as cst

    from codegen.files import input_expr
    from workflow.lower import build_ir

    model = tmp_path / "signed.py"
    model.write_text(
        "import torch\nimport torch.nn as nn\n\n"
        "class Model(nn.Module):\n"
        "    def forward(self, a, b, c, d):\n"
        "        return (torch.rsqrt(a.pow(2).mean(-1) + 1e-6), torch.sqrt((b * b).sum(-1)),\n"
        "                torch.tanh(c + 0.04 * torch.pow(c, 3.0)), torch.pow(d, 0.5))\n\n"
        "def get_inputs():\n    return [torch.randn(4, 8) for _ in range(4)]\n\n"
        "def get_init_inputs():\n    return []\n")
    ir = build_ir(model)
    inputs = [n for n in ir.traced.graph.nodes if n.op == "placeholder"]
    code = [cst.Module([]).code_for_node(input_expr(ir, n)) for n in inputs]
    assert code[:3] == ["torch.randn((4, 8), dtype=torch.float32)"] * 3, code
    assert code[3] == "torch.rand((4, 8), dtype=torch.float32) + 0.01", code


def test_drafts_with_weight_matmuls_of_builtins_pass(tmp_path: Path) -> None:
    """The position-bias MLP (nn.Linear on a constant table) is the original's own weight
    preparation: the scores' fusion holding its two matmuls between weights is within budget.
    The verifier once missed them in builtins of the original and failed the draft."""
    out = tmp_path / "pbs"
    proc = lower("position_bias_scores", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fusion = next((out / "level_1_fusion").glob("matmul_*.py"))
    assert "F.linear(self.coords" in fusion.read_text()


def test_functions_written_inline_are_verified_kernels(tmp_path: Path) -> None:
    """RMSNorm, GELU-tanh and a softmax written inline are one kernel each, named by the
    function, and the draft passes the verifier."""
    out = tmp_path / "inline"
    model = Path(__file__).resolve().parent / "passes" / "models" / "inline_functions.py"
    proc = subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower", str(model), "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kernels = sorted(p.stem for p in (out / "level_0_kernel").glob("*.py"))
    assert {"rms_norm_8_fp32", "gelu_tanh_fp32", "softmax_2x3x8_fp32"} <= set(kernels), kernels
    assert not [k for k in kernels if k.startswith(("pow", "rsqrt", "tanh", "exp", "amax"))]
