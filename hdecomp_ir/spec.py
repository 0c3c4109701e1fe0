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
    """Fixed, public seeds counted up from BASE_SEED: for `lower`'s tracing and self-tests, and
    for tests that need a reproducible verification (StepOptions.seeds). The verifier itself
    draws fresh ones (fresh_trial_seeds): a step must not know the inputs it is judged on."""
    return [BASE_SEED + i for i in range(trials)]


def fresh_trial_seeds(trials: int = NUM_TRIALS) -> list[int]:
    """Seeds drawn from the OS's CSPRNG, distinct, never the public ones."""
    import secrets

    public = set(trial_seeds(trials))
    seeds: list[int] = []
    while len(seeds) < trials:
        seed = secrets.randbits(31)
        if seed not in public and seed not in seeds:
            seeds.append(seed)
    return seeds


# Input distributions of the trials. `default` is get_inputs() as written; `wide` redraws every
# floating input element as sign * 10**U(WIDE_LOG10_MIN, WIDE_LOG10_MAX) (negative and positive,
# large and small: an op whose effect the default distribution hides - a ReLU on torch.rand, a
# clamp on small values, tanh(x) ~ x - shows); `wide_positive` keeps each element's sign (|x| *
# scale with the sign of x) for originals that are non-finite on `wide` (log, sqrt of inputs
# that must stay positive). Integer inputs (token ids, indices) are never changed.
DEFAULT_DISTRIBUTION = "default"
WIDE_DISTRIBUTION = "wide"
WIDE_POSITIVE_DISTRIBUTION = "wide_positive"
WIDE_LOG10_MIN = -3.0
WIDE_LOG10_MAX = 2.0


def trial_distributions(trials: int) -> list[str]:
    """The distribution asked for each trial: the second of three (the last of two) is `wide`;
    a single trial stays `default`. It replaces a trial, it never adds a forward."""
    plan = [DEFAULT_DISTRIBUTION] * trials
    if trials >= 2:
        plan[1] = WIDE_DISTRIBUTION
    return plan


# Degenerate signals. An original output whose peak |value| is under WEAK_SIGNAL_FACTOR x atol
# passes the tolerance table with zeros-like answers; such a leaf is also compared relative to
# its own scale: |ref - orig| <= rtol * |orig| + WEAK_SIGNAL_REL_ATOL * max|orig|.
WEAK_SIGNAL_FACTOR = 10.0
WEAK_SIGNAL_REL_ATOL = 1e-3

# fp16/bf16 steps: the original is also run in float64 and a leaf that misses the tolerance
# table passes when its error against that reference is no worse than FP64_REF_MULTIPLIER times
# the original's own (RMS and max, plus FP64_REF_SLACK x atol; as the dynamo minifier's
# same_two_models does). The tolerance table is still reported; this rule is named when it decided.
FP64_REF_DTYPES = (torch.float16, torch.bfloat16)
FP64_REF_MULTIPLIER = 3.0
FP64_REF_SLACK = 0.1


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
DECOMPOSITION_LOG_JSON = "decomposition_log.json"  # decisions and edits, one entry each
DECOMPOSITION_LOG_FORMAT = "hdecomp-decomposition-log/1"  # its "format" field
ORIGINAL_FILE = "original.py"
REFACTORED_FILE = "refactored.py"
CHILDREN_DIR = "children"
BUFFERS_SUFFIX = ".buffers.pt"          # a component's sidecar of real tensors: <file>.buffers.pt
STEP_RESULT_JSON = "verification_result.json"
# `verify-step --quick` (one trial) writes here, never to STEP_RESULT_JSON, and its status is
# QUICK: a fast answer for an agent's iteration that `verify` never counts as PASS.
QUICK_RESULT_JSON = "verification_result.quick.json"
QUICK_STATUS = "QUICK"
STEP_SUMMARY_JSON = "step_verification_summary.json"
COVERAGE_REPORT_JSON = "coverage_report.json"
COVERAGE_SUMMARY_JSON = "coverage_summary.json"
TEST_RESULTS_JSON = "test_results.json"
WEIGHT_MAP_JSON = "weight_map.json"
COMPOSITION_TEST = "composition_test.py"
