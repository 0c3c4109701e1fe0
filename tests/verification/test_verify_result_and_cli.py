"""verification_result.json, the summary line and `hdecomp verify-step` exit codes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

from click.testing import CliRunner

from hdecomp.cli import main
from hdecomp_ir.spec import VERIFIER_VERSION
from verifier import StepOptions, StepVerifier, signing

CORPUS = Path(__file__).parent / "corpus"
OptionsFactory = Callable[..., StepOptions]


def test_result_json_follows_the_schema(verifier: StepVerifier, step_options: OptionsFactory,
                                        tmp_path: Path) -> None:
    step = CORPUS / "honest" / "tied_weights_through_map"
    out = tmp_path / "nested" / "verification_result.json"
    result = verifier.verify(step_options(step, output=out))
    data = json.loads(out.read_text())
    # The file is the result plus this user's signature over it.
    assert signing.check(data) == ""
    signature = data.pop("signature")
    assert signature["alg"] == "hmac-sha256" and signature["value"]
    assert data == json.loads(json.dumps(result.to_json(), default=str))
    for key in ("timestamp", "original_file", "refactored_file", "status", "anticheat",
                "weight_transfer", "numerical_comparison", "files", "verifier_version"):
        assert key in data, key
    assert data["status"] == "PASS" and data["verifier_version"] == VERIFIER_VERSION
    assert data["anticheat"]["status"] == "PASS"
    assert data["anticheat"]["source_violations"] == [] and data["anticheat"]["parameter_violations"] == []
    transfer = data["weight_transfer"]
    assert transfer["status"] == "OK" and transfer["mapped_count"] == 2
    assert transfer["unmapped_original"] == [] and transfer["unmapped_refactored"] == []
    num = data["numerical_comparison"]
    assert num["rtol"] == 1e-5 and num["atol"] == 1e-6 and num["num_trials"] == 3
    assert [t["seed"] for t in num["trials"]] == num["seeds"] and len(set(num["seeds"])) == 3
    assert all({"trial", "seed", "max_diff", "pass"} <= set(t) for t in num["trials"])
    assert num["max_diff_across_trials"] == max(t["max_diff"] for t in num["trials"])
    assert num["output_magnitude"]["weak"] is False
    expected_files = {"original.py", "refactored.py", "weight_map.json",
                      *(f"children/{p.name}" for p in (step / "children").glob("*.py"))}
    assert set(data["files"]) == expected_files
    for rel, digest in data["files"].items():
        assert digest == hashlib.sha256((step / rel).read_bytes()).hexdigest()


def test_failure_json_carries_rule_location_and_message(verifier: StepVerifier,
                                                        step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "cheats" / "comparison_mask_relu"))
    data = result.to_json()
    assert data["status"] == "FAIL" and data["reasons"][0] == "compute_outside_child"
    violation = data["anticheat"]["runtime_violations"][0]
    assert violation["file"] == "refactored.py" and violation["line"] == 23
    assert "aten.gt" in violation["message"]
    line = result.summary_line()
    assert line.startswith("FAIL comparison_mask_relu: compute_outside_child: refactored.py:23:")


def test_numeric_failure_reports_leaf_diffs_and_divergence(verifier: StepVerifier,
                                                           step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "cheats" / "approximate_gelu"))
    num = result.numerical_comparison
    assert num["status"] == "FAIL"
    leaf = num["trials"][0]["leaves"][0]
    assert leaf["leaf"] == "out" and leaf["max_abs_diff"] > 1e-6 and leaf["pass"] is False
    assert num["divergence"]["child"] == "act"
    assert num["divergence"]["file"] == "children/gelu_fp32.py"


def test_tolerance_override(verifier: StepVerifier, step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "cheats" / "approximate_gelu", rtol=1e-2, atol=1e-2))
    assert result.passed, result.summary_line()
    assert result.numerical_comparison["atol"] == 1e-2


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    honest = tmp_path / "honest"
    shutil.copytree(CORPUS / "honest" / "residual_mlp_sys_path_imports", honest)
    out = tmp_path / "result.json"
    ok = runner.invoke(main, ["verify-step", "--original", str(honest / "original.py"),
                              "--refactored", str(honest / "refactored.py"), "--output", str(out),
                              "--trials", "2", "--device", "cpu"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("PASS honest: 2 trials")
    assert json.loads(out.read_text())["status"] == "PASS"

    cheat = CORPUS / "cheats" / "matmul_operator"
    failed = runner.invoke(main, ["verify-step", "--original", str(cheat / "original.py"),
                                  "--refactored", str(cheat / "refactored.py")])
    assert failed.exit_code == 1
    assert "matmul_operator: refactored.py:20" in failed.output

    bad = runner.invoke(main, ["verify-step", "--original", str(tmp_path / "missing.py"),
                               "--refactored", str(honest / "refactored.py")])
    assert bad.exit_code == 2
    assert "original file not found" in bad.output


def test_one_op_fusion_is_a_warning_not_a_failure(verifier: StepVerifier,
                                                  step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "honest" / "one_op_declared_fusion"))
    assert result.passed
    assert any("declared a fusion but performs 1 op" in w for w in result.warnings)
