"""`hdecomp verify` believes nothing a decomposition's own files claim.

A result file anyone could have written (unsigned, hand-edited, signed by another key, copied
from another step) is re-run; an editable composition_test.py that prints PASS does not pass a
broken composition; a component file whose run_tests prints PASS fails its self-test when its
Model's outputs are wrong.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixture_paths import MODELS
from hdecomp.cli import main
from verifier import signing
from verifier.step_files import step_files
from workflow.selftest import run_selftests
from workflow.verify_tree import freshness

STEP = "step_1_tiny_mlp_to_kernels"
GELU = "level_0_kernel/gelu_fp32.py"
GOOD_GELU = "        gelu = self.gelu(x)\n"


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trust") / "tiny_mlp"
    proc = subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower", str(MODELS / "tiny_mlp.py"),
                           "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture
def mlp(draft: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tiny_mlp"
    shutil.copytree(draft, out)
    return out


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, path
    path.write_text(text.replace(old, new))


def break_step_gelu(mlp: Path) -> None:
    """The step's gelu child (and its level-0 twin) compute relu: the step truly FAILs."""
    for path in (mlp / GELU, mlp / "steps" / STEP / "children/gelu_fp32.py"):
        replace_in(path, GOOD_GELU, "        gelu = torch.relu(x)\n")


def forge_pass(mlp: Path, signature: object) -> Path:
    """Rewrite the step's result as an attacker would: PASS, hashes of the files as they now are."""
    path = mlp / "steps" / STEP / "verification_result.json"
    data = json.loads(path.read_text())
    data.update(status="PASS", reasons=[], failures=[], files=step_files(mlp / "steps" / STEP))
    data.pop("signature", None)
    if signature is not None:
        data["signature"] = signature
    path.write_text(json.dumps(data, indent=2))
    return path


def test_forged_pass_is_rerun_and_fails(mlp: Path) -> None:
    break_step_gelu(mlp)
    result_file = forge_pass(mlp, None)
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 1, out
    assert f"re-verifying {STEP}: result not signed by this machine's key (not signed)" in out
    assert f"FAIL step {STEP}: numerics" in out
    rerun = json.loads(result_file.read_text())
    assert rerun["status"] == "FAIL" and signing.check(rerun) == ""
    tree = json.loads((mlp / "decomposition_tree.json").read_text())
    assert tree["metadata"]["verification_status"] == "FAILED"


def test_forgeries_are_never_fresh(mlp: Path) -> None:
    step = mlp / "steps" / STEP
    genuine = json.loads((step / "verification_result.json").read_text())
    assert freshness(step) == (genuine, "")
    break_step_gelu(mlp)
    # The old signature on new content, another machine's key, a key id copied onto a MAC
    # made with another key: none is trusted, so the recorded hashes are never even looked at.
    forge_pass(mlp, genuine["signature"])
    assert freshness(step)[1].startswith("UNTRUSTED") and "does not match" in freshness(step)[1]
    other = signing.sign({k: v for k, v in json.loads((step / "verification_result.json")
                                                      .read_text()).items()}, key=b"\x07" * 32)
    (step / "verification_result.json").write_text(json.dumps(other))
    assert freshness(step)[1] == "UNTRUSTED: result not signed by this machine's key (signed by another key)"
    other["signature"]["key_id"] = genuine["signature"]["key_id"]
    (step / "verification_result.json").write_text(json.dumps(other))
    assert "does not match" in freshness(step)[1]


def test_signed_result_of_other_files_is_stale(mlp: Path) -> None:
    # A genuinely signed PASS of another step (here: the same step before its child changed)
    # carries that step's hashes, so it does not describe these files.
    step = mlp / "steps" / STEP
    break_step_gelu(mlp)
    assert freshness(step)[1].startswith("STALE: children/gelu_fp32.py (changed)")


def test_composition_test_printing_pass_does_not_pass_a_broken_composition(mlp: Path) -> None:
    # Only the level-0 kernel is broken: the step (whose files are unchanged) still PASSes.
    replace_in(mlp / GELU, GOOD_GELU, "        gelu = torch.relu(x)\n")
    (mlp / "verification/composition_test.py").write_text(
        'print("max_difference=0.000e+00")\nprint("PASS")\n')
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 1, out
    assert "FAIL composition: max_difference=" in out
    assert f"FAIL step {STEP}" not in out
    tests = json.loads((mlp / "verification/test_results.json").read_text())
    assert tests["composition_test"] == "FAILED"
    tree = json.loads((mlp / "decomposition_tree.json").read_text())
    assert tree["metadata"]["verification_status"] == "FAILED"


def test_passing_verify_records_passed_in_the_tree(mlp: Path) -> None:
    tree_file = mlp / "decomposition_tree.json"
    tree = json.loads(tree_file.read_text())
    tree["metadata"]["verification_status"] = "NOT_VERIFIED"
    tree_file.write_text(json.dumps(tree, indent=2))
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 0, out
    assert json.loads(tree_file.read_text())["metadata"]["verification_status"] == "PASSED"


LYING_TESTS = '''

def run_tests():
    print("PASS")
    return True


if __name__ == "__main__":
    import sys
    sys.exit(0 if run_tests() else 1)
'''


@pytest.mark.parametrize("forward, why", [
    ("        gelu = self.gelu(x) * float('nan')\n", "output 0 contains NaN"),
    ("        gelu = self.gelu(x)[..., :-1]\n", "output shapes [(2, 4, 31)] != the tree's [(2, 4, 32)]"),
    ("        gelu = (self.gelu(x), x)\n", "output shapes [(2, 4, 32), (2, 4, 32)] != the tree's"),
])
def test_selftest_reads_our_harness_not_the_files_print(mlp: Path, forward: str, why: str) -> None:
    path = mlp / GELU
    text = path.read_text()
    text = text[:text.index("\ndef run_tests")] + LYING_TESTS
    path.write_text(text.replace(GOOD_GELU, forward))
    # The file itself says PASS ...
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "PASS" in proc.stdout
    # ... and fails ours; the other files still pass.
    results = {r.file: r for r in run_selftests(mlp, jobs=1, timeout=120)}
    assert results[GELU].status == "FAIL" and why in results[GELU].detail, results[GELU]
    assert all(r.status == "PASS" for f, r in results.items() if f != GELU)


def test_composed_model_sees_no_original_key_or_checkout(mlp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The composition run loads agent-written files: in its namespace view the model it is
    compared with (the root file, every level above the kernels, each step's original.py) reads
    empty, and the result key and the checkout are not there. The probe adds 1.0 for every path it can read, so
    it PASSes only when it finds nothing; with process isolation it finds them and FAILs, which
    shows the probe looks."""
    from verifier.runtime import isolation
    from workflow.composition import check_composition

    tree = json.loads((mlp / "decomposition_tree.json").read_text())
    root_file = tree["nodes"]["root"]["path"]
    probes = [mlp / root_file, mlp / "steps" / STEP / "original.py", signing.key_dir(),
              Path(__file__).resolve(), MODELS / "tiny_mlp.py"]
    signing.load_key()  # the key exists, so only the view can hide it
    # A hidden file may still exist as an empty stand-in: what counts is reading its content.
    forward = ("        import os\n"
               f"        seen = sum(os.path.isfile(p) and os.path.getsize(p) > 0 or "
               f"os.path.isdir(p) and len(os.listdir(p)) > 0 for p in {[str(p) for p in probes]!r})\n"
               "        gelu = self.gelu(x) + float(seen)\n")
    replace_in(mlp / GELU, GOOD_GELU, forward)
    if isolation.mode() != isolation.NAMESPACE:
        pytest.skip("namespaces are unavailable on this machine: only process isolation to test")
    passed, detail = check_composition(mlp)
    assert passed, detail
    monkeypatch.setenv(isolation.ENV, isolation.PROCESS)
    passed, detail = check_composition(mlp)
    assert not passed, detail


def test_selftest_worker_sees_no_result_key(mlp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Component files run in the self-test worker's namespace view: the result key is not there.
    The probe returns a second output when it can read the key, which fails the shape check; with
    process isolation it can, which shows the probe looks."""
    from verifier.runtime import isolation

    signing.load_key()
    key = signing.key_dir()
    forward = ("        import os\n"
               f"        if os.path.isdir({str(key)!r}) and os.listdir({str(key)!r}):\n"
               "            return self.gelu(x), self.gelu(x)\n"
               "        gelu = self.gelu(x)\n")
    replace_in(mlp / GELU, GOOD_GELU, forward)
    if isolation.mode() != isolation.NAMESPACE:
        pytest.skip("namespaces are unavailable on this machine: only process isolation to test")
    results = {r.file: r for r in run_selftests(mlp, [GELU], jobs=1, timeout=120)}
    assert results[GELU].status == "PASS", results[GELU]
    monkeypatch.setenv(isolation.ENV, isolation.PROCESS)
    results = {r.file: r for r in run_selftests(mlp, [GELU], jobs=1, timeout=120)}
    assert results[GELU].status == "FAIL", results[GELU]


def test_quick_result_is_never_counted_as_pass(mlp: Path) -> None:
    """`verify-step --quick` (one trial) writes QUICK to its own file; even signed by this
    machine and moved onto verification_result.json, `verify` does not reuse it as a PASS."""
    step = mlp / "steps" / STEP
    full = step / "verification_result.json"
    before = full.read_bytes()
    code, out = cli("verify-step", "--original", str(step / "original.py"),
                    "--refactored", str(step / "refactored.py"), "--quick")
    assert code == 0, out
    assert out.startswith(f"QUICK {STEP}: 1 trial passed") and "not a PASS" in out
    assert full.read_bytes() == before
    quick = json.loads((step / "verification_result.quick.json").read_text())
    assert quick["status"] == "QUICK" and quick["numerical_comparison"]["num_trials"] == 1
    assert signing.check(quick) == ""
    shutil.move(step / "verification_result.quick.json", full)
    code, out = cli("verify", str(mlp), "--no-coverage")
    assert code == 0, out
    assert "(0 fresh results reused, 1 verified, 0 stale)" in out
    assert json.loads(full.read_text())["status"] == "PASS"
    assert json.loads(full.read_text())["numerical_comparison"]["num_trials"] == 3


def test_quick_refuses_to_write_the_full_result(mlp: Path) -> None:
    step = mlp / "steps" / STEP
    code, out = cli("verify-step", "--original", str(step / "original.py"), "--refactored",
                    str(step / "refactored.py"), "--quick", "--output", str(step / "verification_result.json"))
    assert code == 2 and out.count("\n") == 1 and "--quick does not write" in out
    code, out = cli("verify-step", "--original", str(step / "original.py"), "--refactored",
                    str(step / "refactored.py"), "--quick", "--trials", "3")
    assert code == 2 and "--quick runs one trial" in out


def test_progress_reports_steps_workers_and_trials(mlp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`verify --json` style progress: a step event, then the workers' phases and trials while
    they run (the heartbeat made frequent here), on the stream given, never on stdout."""
    import io

    from verifier import engine
    from workflow.progress import Progress
    from workflow.verify_tree import VerifyOptions, VerifyReport, verify_steps

    monkeypatch.setattr(engine, "HEARTBEAT_S", 0.02)
    stream = io.StringIO()
    monkeypatch.setattr("workflow.progress.sys.stderr", stream)
    report = VerifyReport()
    rows = verify_steps(VerifyOptions(out_dir=mlp, rerun_all=True, progress="json"), report,
                        echo=lambda line: None)
    assert [r["verification_status"] for r in rows] == ["PASS"]
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events[0] == {"event": "begin", "total": 1, "what": "steps"}
    assert events[1]["event"] == "step" and events[1]["step"] == STEP and events[1]["index"] == 1
    workers = [e for e in events if e["event"] == "worker"]
    assert {e["worker"] for e in workers} == {"original", "refactored"}
    assert {e["phase"] for e in workers} <= {None, "load", "memory", "construct", "transfer",
                                             "inputs", "forward"}
    assert any(e["phase"] == "forward" and e["trial"] is not None for e in workers)
    assert all(e["step"] == STEP and e["seconds"] >= 0 for e in workers)
    text = Progress("text", io.StringIO())
    text.total = 2
    text.step(0, "a")
    text.step(1, "b")
    assert text.eta() is not None and "about" in text.stream.getvalue().splitlines()[-1]
    quiet = Progress("quiet", io.StringIO())
    quiet.step(0, "a")
    assert quiet.heartbeat is None and quiet.stream.getvalue() == ""
