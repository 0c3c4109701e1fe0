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
