"""Facts fixed by the specification: levels, dtype codes, tolerances, seeds, output layout names.

One source of truth each: the passes, the code generator and the verifier import from here.
"""

from __future__ import annotations

import enum

import torch

VERIFIER_VERSION = "hdecomp-verifier 0.1"


class Level(enum.IntEnum):
    """Abstraction levels of the specification (L0 kernel … L3 model)."""

    KERNEL = 0
    FUSION = 1
    LAYER = 2
    MODEL = 3

    @property
    def label(self) -> str:
        """`kernel`, `fusion`, `layer`, `model` as written in headers and JSON."""
        return self.name.lower()

    @property
    def folder(self) -> str:
        """`level_0_kernel` … `level_3_model`."""
        return f"level_{int(self)}_{self.label}"


# Op-count thresholds of the specification: 1 kernel, 2-5 fusion, 6-15 layer, more: model.
FUSION_MIN_OPS = 2
FUSION_MAX_OPS = 5
LAYER_MAX_OPS = 15

DTYPE_CODES: dict[torch.dtype, str] = {
    torch.float32: "fp32",
    torch.float16: "fp16",
    torch.bfloat16: "bf16",
    torch.float64: "fp64",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int16: "i16",
    torch.int8: "i8",
    torch.uint8: "u8",
    torch.bool: "bool",
    torch.complex64: "c64",
}


def dtype_code(dtype: torch.dtype) -> str:
    """Short dtype code used in file names (`fp32`, `bf16`, `i64`)."""
    return DTYPE_CODES.get(dtype, str(dtype).replace("torch.", ""))


# Step tolerances by the dtype of the original's inputs (VERIFICATION_GUIDE).
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float32: (1e-5, 1e-6),
    torch.float64: (1e-5, 1e-6),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (1e-3, 1e-3),
    torch.int64: (0.0, 0.0),
    torch.int32: (0.0, 0.0),
}
DEFAULT_TOLERANCE = TOLERANCES[torch.float32]

# The composition test compares the model rebuilt from kernels with the original (OUTPUT_SCHEMA).
COMPOSITION_RTOL = 1e-4
COMPOSITION_ATOL = 1e-5

# The divergence search (which child's output first departs from the original) matches sampled
# values DIVERGENCE_SLACK times looser than the step's tolerance, never tighter than the minima:
# it looks for the first big departure, not for the last ulp.
DIVERGENCE_SLACK = 10.0
DIVERGENCE_MIN_RTOL = 1e-4
DIVERGENCE_MIN_ATOL = 1e-5

NUM_TRIALS = 3
BASE_SEED = 42
# The verifier builds the refactored model under this seed before the original's weights are
# copied in, and builds the original again under PROBE_SEED to find buffers drawn at random.
REFACTORED_INIT_SEED = BASE_SEED + 1000
PROBE_SEED = BASE_SEED + 2000
# Default seed of the verifier's re-randomization of the original's weights (a StepVerifier
# draws its own unless told; the worker falls back to this one).
REINIT_SEED = 20260221
# `lower` builds the model once for real, under this seed, to read the buffers it computes
# itself (masks, rotary tables) into the component files' sidecars.
LOWER_BUFFERS_SEED = 0


def trial_seeds(trials: int = NUM_TRIALS) -> list[int]:
    """Seeds of the numerical trials, counted up from BASE_SEED."""
    return [BASE_SEED + i for i in range(trials)]


def tolerance_for(dtypes: list[torch.dtype]) -> tuple[float, float]:
    """(rtol, atol) for a step whose original takes inputs of these dtypes.

    The loosest floating dtype wins; integer-only inputs (token ids) take the float32 tolerance
    because the outputs of such models are floating point.
    """
    floats = [d for d in dtypes if d.is_floating_point]
    if not floats:
        return DEFAULT_TOLERANCE
    return max((TOLERANCES.get(d, DEFAULT_TOLERANCE) for d in floats), key=lambda t: t[1])


# hdecomp's own top-level packages: step code may import none of them (the verifier refuses
# such an import statically and blocks it at run time).
HDECOMP_PACKAGES = frozenset({"hdecomp", "hdecomp_ir", "frontend", "passes", "codegen",
                              "tensors", "verifier", "workflow"})

# Output layout (OUTPUT_SCHEMA).
STEPS_DIR = "steps"
VERIFICATION_DIR = "verification"
TREE_JSON = "decomposition_tree.json"
ANALYSIS_MD = "decomposition_analysis.md"
ORIGINAL_FILE = "original.py"
REFACTORED_FILE = "refactored.py"
CHILDREN_DIR = "children"
BUFFERS_SUFFIX = ".buffers.pt"          # a component's sidecar of real tensors: <file>.buffers.pt
STEP_RESULT_JSON = "verification_result.json"
STEP_SUMMARY_JSON = "step_verification_summary.json"
COVERAGE_REPORT_JSON = "coverage_report.json"
COVERAGE_SUMMARY_JSON = "coverage_summary.json"
TEST_RESULTS_JSON = "test_results.json"
WEIGHT_MAP_JSON = "weight_map.json"
COMPOSITION_TEST = "composition_test.py"
