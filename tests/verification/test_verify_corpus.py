"""The corpus: cheating steps must FAIL for the right reason, honest-but-tricky steps must PASS.

Each case is a step directory under corpus/cheats/ or corpus/honest/ (original.py, refactored.py,
children/*.py, optional weight_map.json). EXPECTED_REASONS names the rule each cheat must break.
"""

from __future__ import annotations

import pytest

from pathlib import Path
from typing import Callable

from verifier import ALL_RULES, StepOptions, StepVerifier

CORPUS = Path(__file__).parent / "corpus"
OptionsFactory = Callable[..., StepOptions]

EXPECTED_REASONS = {
    # compute hidden in the parent, caught from the source
    "alias_by_import": "compute_op",
    "alias_in_forward": "alias",
    "alias_module_level": "alias",
    "aten_compute_call": "compute_op",
    "clamp_method": "compute_op",
    "tensor_method": "compute_op",
    "torch_where": "compute_op",
    "tolist_escape": "compute_op",
    "operator_module_matmul": "compute_op",
    "module_level_helper": "compute_op",
    "matmul_operator": "matmul_operator",
    "getattr_builtin": "dynamic_code",
    "eval_string": "dynamic_code",
    "sys_modules_lookup": "dynamic_code",
    "private_torch_api": "private_access",
    "dunder_class_forward": "private_access",
    "local_module_class": "local_class",
    "raw_linear_in_init": "raw_module_in_init",
    "raw_linear_imported_name": "raw_module_in_init",
    "raw_parameter_in_init": "parameter_in_init",
    "reach_into_child_weights": "reaches_into_child",
    "child_forward_direct": "reaches_into_child",
    "override_train": "overrides_module_api",
    # compute hidden in the parent, caught only at run time
    "comparison_mask_relu": "compute_outside_child",
    "parameter_via_helper_method": "parameter_outside_child",
    # children that are not what they claim
    "child_wraps_whole_original": "wraps_original",
    "child_copies_original": "child_copies_original",
    "child_same_level_as_parent": "child_level",
    "child_without_level_header": "missing_level_header",
    "multi_op_kernel": "kernel_not_single_op",
    "dummy_loop_makes_kernel": "loop_not_in_original",  # a loop the original does not run
    "fusion_with_too_many_ops": "fusion_op_count",
    # the verifier, the original and the environment
    "imports_original": "imports_original",
    "child_imports_original": "imports_original",
    "monkeypatch_allclose": "monkeypatch",
    "patch_verifier": "imports_verifier",
    "fake_result_file": "file_io",
    "child_loads_saved_output": "file_io",
    "cached_outputs": "stateful_forward",
    "global_cache": "stateful_forward",
    "reseed_default_init": "reseed",
    "dangerous_stdlib_import": "forbidden_import",
    # weight transfer
    "lying_weight_map_swap": "numerics",
    "weight_map_unknown_name": "weight_map_entry",
    "weight_map_wrong_shape": "weight_map_entry",
    "unmapped_extra_parameter": "unmapped_refactored",
    "missing_batchnorm_buffers": "unmapped_original",
    # numerics
    "train_mode_dropout": "random_op",
    "child_switches_to_training": "training_mode",
    "approximate_gelu": "numerics",
    "wrong_residual": "numerics",
    "dtype_change": "dtype_mismatch",
    "shape_change": "shape_mismatch",
    "drops_tuple_element": "structure_mismatch",
    "mutates_input": "input_mutated",
    "zeros_for_tiny_output": "degenerate_output",
    "constant_for_tiny_output": "degenerate_output",
    "copy_of_input": "degenerate_output",
    # -- issue 12: the trust boundary (isolation, forged reports)
    "job_json_runs_original": "forbidden_import",
    "forged_result_os_exit": "forbidden_import",
    "original_by_relative_path": "file_io",
    # -- issue 12: allow-list source rules over every file under the step
    "torch_ops_plumbing_calls": "forbidden_api",  # was honest: torch.ops is refused now
    "from_sys_import_modules": "forbidden_import",
    "from_os_import_listdir": "forbidden_import",
    "operator_attrgetter_relu": "forbidden_import",
    "children_init_patches_torch": "monkeypatch",
    "children_init_computes": "module_level_code",
    "subpackage_child_unscanned": "forbidden_import",
    "sys_path_outside_children": "dynamic_code",
    "format_string_attribute": "dynamic_code",
    "traceback_frame_walk": "private_access",
    "generator_frame_walk": "private_access",
    "importlib_computed_module": "forbidden_import",
    "torch_library_override": "forbidden_api",
    "torch_overrides_mode": "forbidden_api",
    "type_bypasses_child_call": "dynamic_code",
    "native_extension_child": "forbidden_file",
    "symlink_child": "forbidden_file",
    "child_shadows_module": "forbidden_file",
    # -- issue 12: arithmetic policy and kernel honesty
    "semantic_file_name_norm_act_kernel": "kernel_not_single_op",  # rms_norm_8_fp32.py: norm+silu+tanh
    "multihead_attention_kernel": "kernel_not_single_op",     # nn.MultiheadAttention: its 5 ops
    "fake_parametrized_linear_kernel": "kernel_not_single_op",  # nn.Linear subclass + relu
    "tolist_compute_in_kernel": "escape_to_python",           # relu in Python on .tolist()
    "precombined_weights_kernel": "kernel_not_single_op",     # x @ (w_up @ w_down).t()
    "attention_scores_by_products": "compute_outside_child",  # q*k broadcast + slice sums
    "softmax_normalised_in_parent": "compute_outside_child",  # e / sum(e), exp and sum in children
    "rope_rotation_in_parent": "compute_outside_child",     # h*cos + rot(h)*sin, tables from a child
    "parameter_laundered_by_clone": "parameter_outside_child",  # child returns weight.clone()
    "parameter_copied_into_buffer": "parameter_outside_child",  # child copy_()s its weight out
    "cumsum_of_activation_in_parent": "compute_outside_child",  # a mask op the static rules defer
    "activation_stashed_in_buffer": "compute_outside_child",  # gate copied into a buffer, then x * buf
    # -- issue 12: trials, input distributions, op coverage, degenerate outputs
    "exact_on_public_seeds": "numerics",          # memorized outputs: fresh seeds catch it
    "dropped_relu_positive_inputs": "op_missing",  # relu on torch.rand inputs
    "dropped_clamp_small_inputs": "numerics",      # clamp at +-1e30 kept: the wide trial
    "tanh_small_x_approximation": "numerics",      # x - x^3/3: the wide trial
    "naive_softplus_overflows": "nonfinite_output",  # log(1 + exp(x)): Inf for x > 88
    "weak_signal_hard_sigmoid": "weak_signal",     # output ~1e-6 = atol
    "near_copy_of_input": "degenerate_output",     # x + 1e-7 sign(...) for x + 2e-6 tanh(...)
}

CHEATS = sorted(p.name for p in (CORPUS / "cheats").iterdir() if p.is_dir())
HONEST = sorted(p.name for p in (CORPUS / "honest").iterdir() if p.is_dir())


def test_corpus_table_matches_directories() -> None:
    assert set(EXPECTED_REASONS) == set(CHEATS)
    assert set(EXPECTED_REASONS.values()) <= set(ALL_RULES)
    assert len(CHEATS) >= 30 and len(HONEST) >= 15


@pytest.mark.parametrize("case", CHEATS)
def test_cheat_fails_for_the_right_reason(verifier: StepVerifier, step_options: OptionsFactory,
                                          case: str) -> None:
    result = verifier.verify(step_options(CORPUS / "cheats" / case))
    expected = EXPECTED_REASONS[case]
    assert result.status == "FAIL", result.summary_line()
    assert expected in result.reasons, f"{case}: {result.summary_line()}"
    failure = next(f for f in result.failures if f.rule == expected)
    assert failure.message
    if failure.stage == "anticheat" and expected not in ("wraps_original", "kernel_not_single_op",
                                                        "loop_not_in_original",
                                                        "fusion_op_count", "random_op",
                                                        "training_mode", "forbidden_file"):
        # Source and guard findings point at a file and a line the agent can go to (a
        # forbidden_file is a whole file: .so, symlink, shadowing name; it has no line).
        assert failure.file and failure.line, failure.one_line()
    assert not result.passed and result.summary_line().startswith("FAIL")


@pytest.mark.parametrize("case", HONEST)
def test_honest_step_passes(verifier: StepVerifier, step_options: OptionsFactory,
                            case: str) -> None:
    result = verifier.verify(step_options(CORPUS / "honest" / case))
    assert result.status == "PASS", result.summary_line()
    assert result.passed
    assert result.numerical_comparison["status"] == "PASS"
    assert result.weight_transfer["status"] == "OK"
    assert len(result.numerical_comparison["trials"]) == 3
