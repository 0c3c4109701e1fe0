"""Memory is estimated on the meta device before any real forward; too much is refused cleanly."""

from __future__ import annotations

import time
from pathlib import Path

from verifier import StepOptions, StepVerifier

HUGE_ORIGINAL = '''"""
Component: huge_linear
Abstraction Level: layer
"""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d=65536):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return self.fc(x)


def get_inputs():
    return [torch.randn(1 << 20, 65536)]


def get_init_inputs():
    return [65536]
'''

REFACTORED = '''import torch
import torch.nn as nn

from children.linear_65536_fp32 import Model as Linear


class RefactoredModel(nn.Module):
    def __init__(self, d=65536):
        super().__init__()
        self.fc = Linear(d)

    def forward(self, x):
        return self.fc(x)


def get_init_inputs():
    return [65536]
'''

CHILD = '''"""
Component: linear_65536
Abstraction Level: kernel
"""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, d)

    def forward(self, x):
        return self.linear(x)
'''


def test_too_big_for_this_machine_is_refused(verifier: StepVerifier, tmp_path: Path) -> None:
    (tmp_path / "children").mkdir()
    (tmp_path / "original.py").write_text(HUGE_ORIGINAL)
    (tmp_path / "refactored.py").write_text(REFACTORED)
    (tmp_path / "children" / "linear_65536_fp32.py").write_text(CHILD)
    start = time.monotonic()
    result = verifier.verify(StepOptions(tmp_path / "original.py", tmp_path / "refactored.py",
                                         timeout=60.0, output=tmp_path / "result.json"))
    assert time.monotonic() - start < 30  # nothing real was allocated
    assert result.status == "ERROR" and not result.passed
    assert "needs about" in result.error and "TiB" in result.error
    assert result.summary_line().startswith("ERROR")
    # inputs: 2**20 x 65536 floats = 256 GiB, parameters 16 GiB
    assert result.memory["inputs_bytes"] == (1 << 20) * 65536 * 4
    assert result.memory["params_bytes"] == (65536 * 65536 + 65536) * 4
    assert (tmp_path / "result.json").is_file()


def test_small_step_records_its_estimate(verifier: StepVerifier, step_options) -> None:
    step = Path(__file__).parent / "corpus" / "honest" / "batchnorm_buffers"
    result = verifier.verify(step_options(step, trials=1))
    assert result.passed
    memory = result.memory
    assert memory["inputs_bytes"] == 2 * 3 * 6 * 6 * 4
    assert memory["outputs_bytes"] == 2 * 4 * 6 * 6 * 4
    assert memory["estimated_need_bytes"] > 0 and memory["available_host_bytes"] > 0



class _SmallLinear:
    """A Linear(64, 32) original in the given dtype, and its get_inputs()."""

    def __init__(self, dtype) -> None:
        import torch
        import torch.nn as nn

        class Small(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc = nn.Linear(64, 32, dtype=dtype)

            def forward(self, x):
                return self.fc(x)

        self.model_cls = Small
        self.get_inputs = lambda: [torch.randn(8, 64, dtype=dtype)]


def test_half_precision_original_counts_its_float64_reference() -> None:
    """A bf16 original is also run in float64, converted in place after its trials: the estimate
    holds four times its bytes for that phase (a 2-layer Mixtral-8x7B was OOM-killed while the
    estimate said it fitted)."""
    import torch

    from verifier.runtime.worker import estimate_memory

    half_model, full_model = _SmallLinear(torch.bfloat16), _SmallLinear(torch.float32)
    half = estimate_memory(half_model.model_cls, [], half_model.get_inputs, 0)
    full = estimate_memory(full_model.model_cls, [], full_model.get_inputs, 0)
    assert full.reference(3) == 0
    assert half.params == (64 * 32 + 32) * 2
    assert half.reference(3) == 4 * (half.params + half.forward_peak + 3 * half.outputs)
    judge = 4 * half.outputs + half.inputs
    assert half.need(3) == max(2 * half.params + 2 * half.inputs + half.forward_peak,
                               2 * half.inputs + half.reference(3)) + judge
    assert half.need(3) > full.need(3) // 2  # the reference phase is the larger one
    assert half.to_json(3)["reference_bytes"] == half.reference(3)
    assert half.to_json(3)["reference_dtype"] == "float64"


def test_reference_falls_back_to_float32_when_float64_does_not_fit(monkeypatch) -> None:
    """A 2-layer Mixtral-8x7B in bf16 (5.9 GiB) cannot hold a 23.6 GiB float64 reference on a
    24 GiB machine, but a float32 one (11.8 GiB) fits: the check picks it instead of refusing."""
    from verifier.runtime import memory

    gib = 1 << 30
    monkeypatch.setattr(memory, "available_host_bytes", lambda: 22 * gib)
    bf16 = memory.MemoryEstimate(6 * gib, 1024, 0, 0, 4.0)
    fits, _message, record = memory.check(bf16, 3, "cpu")
    assert fits and record["reference_dtype"] == "float32"
    assert record["reference_bytes"] == 12 * gib
    small = memory.MemoryEstimate(1 * gib, 1024, 0, 0, 4.0)
    assert memory.check(small, 3, "cpu")[2]["reference_dtype"] == "float64"
    huge = memory.MemoryEstimate(16 * gib, 1024, 0, 0, 4.0)
    fits, message, _record = memory.check(huge, 3, "cpu")
    assert not fits and "float32 reference 32.0 GiB" in message


def test_half_precision_step_runs_its_reference(verifier: StepVerifier, step_options) -> None:
    """The reference run happens (in place, after the trials) and decides the bf16 leaves the
    tolerance table alone would refuse; the result names the dtype it used."""
    step = Path(__file__).parent / "corpus" / "honest" / "bf16_fused_vs_split_linear"
    result = verifier.verify(step_options(step, trials=2))
    assert result.passed, result.summary_line()
    assert result.memory["reference_dtype_used"] == "float64"
    trials = result.to_json()["numerical_comparison"]["trials"]
    assert [t["decided_by"] for t in trials] == ["fp64_reference"] * 2


def test_unmeasurable_forward_still_counts_the_weights() -> None:
    """A forward that cannot run on meta (MoE routing sizes tensors by values) still gets a lower
    bound from its weights, so a 2-layer Mixtral-8x7B is refused instead of OOM-killed."""
    import torch
    import torch.nn as nn

    from verifier.runtime import memory
    from verifier.runtime.worker import estimate_memory

    class Routed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(64, 32, dtype=torch.bfloat16)

        def forward(self, x):
            return self.fc(x[x.sum(-1) > 0])  # a value-sized tensor

    estimate = estimate_memory(Routed, [], lambda: [torch.randn(8, 64, dtype=torch.bfloat16)], 0)
    assert estimate.forward_unknown and estimate.outputs == 0
    assert estimate.need(3) == 3 * estimate.inputs + 4 * estimate.params
    huge = memory.MemoryEstimate(1 << 50, 0, 0, 0, 4.0, forward_unknown="x")
    fits, message, record = memory.check(huge, 3, "cpu")
    assert not fits and message.startswith("needs at least") and "comes on top" in message
    assert record["forward_unknown"] == "x"


def test_out_of_memory_while_constructing_is_a_step_error_not_the_models() -> None:
    from verifier.engine import _out_of_memory

    assert _out_of_memory({"type": "RuntimeError", "message": "[enforce fail at alloc_cpu.cpp:127] "
                           "DefaultCPUAllocator: can't allocate memory: you tried to allocate 25480396800 bytes"})
    assert _out_of_memory({"type": "MemoryError", "message": ""})
    assert not _out_of_memory({"type": "RuntimeError", "message": "mat1 and mat2 shapes cannot be multiplied"})
