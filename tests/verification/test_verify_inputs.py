"""Bad input raises UserInputError naming the file; a wrong refactored.py is a FAIL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest
import torch

from hdecomp_ir.errors import UserInputError
from verifier import StepOptions, StepVerifier, load_weight_map

CORPUS = Path(__file__).parent / "corpus"
HONEST = CORPUS / "honest" / "residual_mlp_sys_path_imports"
OptionsFactory = Callable[..., StepOptions]


@pytest.fixture()
def step(tmp_path: Path) -> Path:
    target = tmp_path / "step_1_mlp"
    shutil.copytree(HONEST, target)
    return target


def test_missing_original(verifier: StepVerifier, step: Path) -> None:
    with pytest.raises(UserInputError, match="original file not found"):
        verifier.verify(StepOptions(step / "nope.py", step / "refactored.py"))


def test_missing_refactored(verifier: StepVerifier, step: Path) -> None:
    with pytest.raises(UserInputError, match="refactored file not found"):
        verifier.verify(StepOptions(step / "original.py", step / "missing.py"))


def test_syntax_error_in_original(verifier: StepVerifier, step_options: OptionsFactory,
                                  step: Path) -> None:
    (step / "original.py").write_text("class Model(nn.Module:\n    pass\n")
    with pytest.raises(UserInputError) as err:
        verifier.verify(step_options(step))
    assert "original.py:1" in err.value.one_line() and "syntax error" in err.value.one_line()


def test_original_without_model(verifier: StepVerifier, step_options: OptionsFactory,
                                step: Path) -> None:
    source = (step / "original.py").read_text().replace("class Model(", "class Network(")
    (step / "original.py").write_text(source)
    with pytest.raises(UserInputError, match="defines no `Model`"):
        verifier.verify(step_options(step))


def test_original_that_fails_at_run_time(verifier: StepVerifier, step_options: OptionsFactory,
                                         step: Path) -> None:
    source = (step / "original.py").read_text().replace(
        "return self.fc2(torch.relu(self.fc1(x))) + x", "return self.fc2(x)")
    (step / "original.py").write_text(source)
    with pytest.raises(UserInputError) as err:
        verifier.verify(step_options(step))
    line = err.value.one_line()
    assert "original.py:" in line and "running forward" in line and "RuntimeError" in line


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"fc1.weight": 3}', "entry 'fc1.weight'"),
    ('{"fc1.weight": []}', "entry 'fc1.weight'"),
])
def test_malformed_weight_map(verifier: StepVerifier, step_options: OptionsFactory, step: Path,
                              text: str, message: str) -> None:
    (step / "weight_map.json").write_text(text)
    with pytest.raises(UserInputError, match=message) as err:
        verifier.verify(step_options(step))
    assert "weight_map.json" in err.value.one_line()


def test_weight_map_next_to_refactored_is_used(verifier: StepVerifier,
                                               step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "honest" / "renamed_weights_through_map"))
    assert result.passed
    assert result.weight_transfer["weight_map_file"] == "weight_map.json"
    assert result.weight_transfer["method"] == "weight_map"
    assert "weight_map.json" in result.files


def test_explicit_weight_map_path(verifier: StepVerifier, step_options: OptionsFactory,
                                  tmp_path: Path) -> None:
    source = CORPUS / "honest" / "renamed_weights_through_map"
    step = tmp_path / "step"
    shutil.copytree(source, step)
    elsewhere = tmp_path / "maps" / "renames.json"
    elsewhere.parent.mkdir()
    (step / "weight_map.json").rename(elsewhere)
    result = verifier.verify(step_options(step, weight_map=elsewhere))
    assert result.passed, result.summary_line()


def test_load_weight_map_normalises_values(tmp_path: Path) -> None:
    path = tmp_path / "weight_map.json"
    path.write_text(json.dumps({"a": "b", "c": ["d", "e"]}))
    assert load_weight_map(path) == {"a": ["b"], "c": ["d", "e"]}


def test_syntax_error_in_refactored_is_a_fail(verifier: StepVerifier, step_options: OptionsFactory,
                                              step: Path) -> None:
    (step / "refactored.py").write_text("class RefactoredModel(:\n")
    result = verifier.verify(step_options(step))
    assert result.status == "FAIL" and result.reasons == ["syntax_error"]


def test_refactored_without_class_is_a_fail(verifier: StepVerifier, step_options: OptionsFactory,
                                            step: Path) -> None:
    source = (step / "refactored.py").read_text().replace("class RefactoredModel(", "class Other(")
    (step / "refactored.py").write_text(source)
    result = verifier.verify(step_options(step))
    assert "missing_class" in result.reasons


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_bad_input(verifier: StepVerifier, step_options: OptionsFactory,
                                         step: Path) -> None:
    with pytest.raises(UserInputError, match="no CUDA device"):
        verifier.verify(step_options(step, device="cuda"))


@pytest.mark.parametrize("field, value", [("trials", 0), ("timeout", 0.0), ("rtol", -1.0)])
def test_bad_numbers(verifier: StepVerifier, step_options: OptionsFactory, step: Path,
                     field: str, value: float) -> None:
    with pytest.raises(UserInputError):
        verifier.verify(step_options(step, **{field: value}))


# -- issue 12: seeds and input distributions


def test_seeds_are_fresh_recorded_and_shared_within_a_verifier(verifier: StepVerifier,
                                                               step_options: OptionsFactory,
                                                               step: Path) -> None:
    from hdecomp_ir.spec import trial_seeds

    first = verifier.verify(step_options(step))
    again = verifier.verify(step_options(step))
    num = first.numerical_comparison
    assert num["seed_source"] == "fresh" and len(num["seeds"]) == 3
    assert not set(num["seeds"]) & set(trial_seeds(3))  # never the public seeds
    assert [t["seed"] for t in num["trials"]] == num["seeds"]
    # One set per StepVerifier: the original-run cache still serves the second step.
    assert again.numerical_comparison["seeds"] == num["seeds"] and again.memory.get("cached")
    with StepVerifier() as other:
        assert other.trial_seeds(3) != num["seeds"]


def test_explicit_seeds_are_used_and_validated(verifier: StepVerifier,
                                               step_options: OptionsFactory, step: Path) -> None:
    result = verifier.verify(step_options(step, seeds=[1, 2, 3]))
    assert result.numerical_comparison["seeds"] == [1, 2, 3]
    assert result.numerical_comparison["seed_source"] == "given"
    with pytest.raises(UserInputError, match="one per trial"):
        verifier.verify(step_options(step, seeds=[1, 2]))


def test_trial_distributions_are_recorded(verifier: StepVerifier,
                                          step_options: OptionsFactory, step: Path) -> None:
    result = verifier.verify(step_options(step))
    assert result.numerical_comparison["distributions"] == ["default", "wide", "default"]
    assert [t["distribution"] for t in result.numerical_comparison["trials"]] == \
        ["default", "wide", "default"]
    single = verifier.verify(step_options(step, trials=1))
    assert single.numerical_comparison["distributions"] == ["default"]


def test_wide_inputs_cross_sign_and_scale_and_keep_integers() -> None:
    from verifier.runtime.worker import trial_inputs

    def get_inputs() -> list[torch.Tensor]:
        return [torch.rand(64, 64), torch.randint(0, 10, (4,)), torch.rand(8, dtype=torch.float16)]

    plain = trial_inputs(get_inputs, 5, "default")
    wide = trial_inputs(get_inputs, 5, "wide")
    assert bool((plain[0] >= 0).all())
    assert bool((wide[0] < 0).any()) and bool((wide[0] > 0).any())
    assert float(wide[0].abs().max()) > 10 and float(wide[0].abs().min()) < 0.01
    assert torch.equal(wide[1], plain[1]) and wide[2].dtype == torch.float16
    assert torch.equal(wide[0], trial_inputs(get_inputs, 5, "wide")[0])  # seeded
    positive = trial_inputs(get_inputs, 5, "wide_positive")
    assert bool((positive[0] > 0).all()) and float(positive[0].max()) > 10


def test_positive_domain_original_falls_back_to_sign_preserving(
        verifier: StepVerifier, step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "honest" / "positive_inputs_log_sqrt"))
    assert result.status == "PASS", result.summary_line()
    wide = result.numerical_comparison["trials"][1]
    assert wide["distribution"] == "wide_positive"
    assert wide["distribution_fallbacks"] == ["wide (non-finite output)"]


def test_memorized_outputs_pass_only_on_the_public_seeds(verifier: StepVerifier,
                                                         step_options: OptionsFactory) -> None:
    """The cheat is exact on seeds 42-44: only fresh seeds catch it (so the fix is what does)."""
    from hdecomp_ir.spec import trial_seeds

    case = CORPUS / "cheats" / "exact_on_public_seeds"
    assert verifier.verify(step_options(case, seeds=trial_seeds(3))).status == "PASS"
    assert "numerics" in verifier.verify(step_options(case)).reasons
