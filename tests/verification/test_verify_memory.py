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


def test_half_precision_original_counts_its_float64_twin() -> None:
    """A bf16 original is also run as a float64 twin: the estimate holds four times its bytes more
    (a 2-layer Mixtral-8x7B was OOM-killed while the estimate said it fitted)."""
    import torch

    from verifier.runtime.worker import estimate_memory

    half_model, full_model = _SmallLinear(torch.bfloat16), _SmallLinear(torch.float32)
    half = estimate_memory(half_model.model_cls, [], half_model.get_inputs, 0)
    full = estimate_memory(full_model.model_cls, [], full_model.get_inputs, 0)
    assert full.reference(3) == 0
    assert half.params == (64 * 32 + 32) * 2
    assert half.reference(3) == 4 * (half.params + half.forward_peak + 3 * half.outputs)
    assert half.need(3) == full.need(3) // 2 + half.reference(3)
    assert half.to_json(3)["reference_bytes"] == half.reference(3)
