"""Recurrent kernels are written as the module a person would write (`nn.LSTM(...)` called as
`output, (h_n, c_n) = self.lstm(x, (h0, c0))`), not as 4 loose weights per layer and a flat
`torch.lstm` call; lowered and verified for real."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

MODEL = '''
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(12, 16, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(32, 5)

    def forward(self, x, h0, c0):
        out, (h_n, c_n) = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :]), c_n


def get_inputs():
    return [torch.randn(3, 7, 12), torch.randn(4, 3, 16), torch.randn(4, 3, 16)]


def get_init_inputs():
    return []
'''


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lstm_kernel_is_the_module_and_verifies(tmp_path: Path) -> None:
    model_file = tmp_path / "lstm_with_state.py"
    model_file.write_text(MODEL)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower", str(model_file), "-o",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("PASS"), proc.stdout
    [kernel] = out.glob("level_0_kernel/lstm_*.py")
    text = kernel.read_text()
    assert "nn.LSTM(12, 16, num_layers=2, batch_first=True, bidirectional=True)" in text
    assert "output, (h_n, c_n) = self.lstm(x0, (x1, x2))" in text
    assert "torch.lstm" not in text and "weight_ih_l0 = nn.Parameter" not in text
    # The kernel computes what the model's own LSTM computes on the same weights.
    original = _load(model_file).Model().eval()
    module = _load(kernel)
    component = module.Model().eval()
    component.lstm.load_state_dict(original.lstm.state_dict())
    x, h0, c0 = _load(model_file).get_inputs()
    with torch.no_grad():
        expected = original.lstm(x, (h0, c0))[0]
        actual = component(x, h0, c0)
    actual = actual[0] if isinstance(actual, tuple) else actual
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_lstm_with_states_moved_by_to_is_the_module(tmp_path: Path) -> None:
    """data/level3/36: `self.h0 = self.h0.to(x.device)` in forward() moves states the model
    keeps as tensors; the kernel moves them the same way and calls the module with them."""
    model_file = Path(__file__).resolve().parents[1] / "data" / "level3" / "36_LSTMInitialState.py"
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower", str(model_file), "-o",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("PASS"), proc.stdout
    [kernel] = out.glob("level_0_kernel/lstm_*.py")
    text = kernel.read_text()
    assert "self.lstm = nn.LSTM(128, 256, num_layers=3, batch_first=True)" in text
    assert "h0 = self.h0.to(dtype=torch.float32, device=x.device)" in text
    assert "output, (h_n, c_n) = self.lstm(x, (h0, c0))" in text
    assert "torch.lstm" not in text
