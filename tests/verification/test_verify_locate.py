"""file:line on numeric failures: the child's first statement whose value departs from the
original, else the plumbing line in refactored.py (verifier.judge.locate, runtime.linetrace).

Each test copies a small corpus step (fc1 -> GELU -> fc2 + x), breaks one line on purpose and
runs the real engine on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import torch

from verifier import StepOptions, StepVerifier
from verifier.judge import locate

CORPUS = Path(__file__).parent / "corpus"
OptionsFactory = Callable[..., StepOptions]

GELU_CHILD = '''"""
Component: gelu
Abstraction Level: kernel
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def forward(self, x):
        y = F.gelu(x)
        z = y * {scale}
        return z


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return []
'''


def _step(tmp_path: Path, scale: str, forward: str | None = None) -> Path:
    step = tmp_path / "gelu_mlp"
    shutil.copytree(CORPUS / "cheats" / "approximate_gelu", step)
    (step / "children" / "gelu_fp32.py").write_text(GELU_CHILD.format(scale=scale))
    if forward is not None:
        refactored = step / "refactored.py"
        text = refactored.read_text()
        old = "        return self.fc2(self.act(self.fc1(x))) + x\n"
        assert old in text
        refactored.write_text(text.replace(old, forward))
    return step


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_broken_child_line_is_named(verifier: StepVerifier, step_options: OptionsFactory,
                                    tmp_path: Path) -> None:
    step = _step(tmp_path, "1.5")
    result = verifier.verify(step_options(step, seeds=[1, 2, 3]))
    assert result.status == "FAIL"
    broken = _line_of(step / "children" / "gelu_fp32.py", "z = y * 1.5")
    call = _line_of(step / "refactored.py", "return self.fc2(")
    div = result.numerical_comparison["divergence"]
    assert (div["file"], div["line"]) == ("children/gelu_fp32.py", broken)
    assert div["call_site"] == f"refactored.py:{call}" and div["child"] == "act"
    line = result.summary_line()
    assert f"numerics: children/gelu_fp32.py:{broken}:" in line
    assert f"refactored.py:{call} calls child `act`" in line


def test_wrong_plumbing_after_children_names_the_refactored_line(
        verifier: StepVerifier, step_options: OptionsFactory, tmp_path: Path) -> None:
    forward = ("        h = self.fc2(self.act(self.fc1(x)))\n"
               "        return h * 1.5 + x\n")
    step = _step(tmp_path, "1.0", forward)
    result = verifier.verify(step_options(step, seeds=[1, 2, 3]))
    assert result.status == "FAIL"
    broken = _line_of(step / "refactored.py", "return h * 1.5 + x")
    div = result.numerical_comparison["divergence"]
    assert div["child"] is None
    assert (div["file"], div["line"]) == ("refactored.py", broken)
    assert f"numerics: refactored.py:{broken}:" in result.summary_line()


def test_wrong_plumbing_before_a_child_names_the_refactored_line(
        verifier: StepVerifier, step_options: OptionsFactory, tmp_path: Path) -> None:
    forward = ("        h = self.fc1(x)\n"
               "        g = h * 1.5\n"
               "        return self.fc2(self.act(g)) + x\n")
    step = _step(tmp_path, "1.0", forward)
    result = verifier.verify(step_options(step, seeds=[1, 2, 3]))
    assert result.status == "FAIL"
    div = result.numerical_comparison["divergence"]
    assert div["child"] == "act" and div["cause"] == "inputs"
    assert (div["file"], div["line"]) == ("refactored.py", _line_of(step / "refactored.py",
                                                                    "g = h * 1.5"))


def test_passing_step_runs_no_locate_job(verifier: StepVerifier, step_options: OptionsFactory,
                                         tmp_path: Path, monkeypatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(StepVerifier, "_locate", lambda self, *a: calls.append(a))
    result = verifier.verify(step_options(_step(tmp_path, "1.0"), seeds=[1, 2, 3]))
    assert result.passed, result.summary_line()
    assert calls == [] and "divergence" not in result.numerical_comparison


def test_forged_trace_never_names_a_foreign_place(tmp_path: Path) -> None:
    (tmp_path / "refactored.py").write_text("a\nb\n")
    source = locate.StepSource(tmp_path, [])
    fp = {"shape": [2], "dtype": "float32", "samples": torch.zeros(2, dtype=torch.float64)}
    trace = {"events": [{"file": "/etc/passwd", "line": 1, "calls_done": 0, "values": [fp]},
                        {"file": "refactored.py", "line": 99, "calls_done": 0, "values": [fp]},
                        {"file": "refactored.py", "line": 2, "calls_done": 0, "values": [fp]}]}
    cleaned = locate.clean_trace(trace, source)
    assert [(e["file"], e["line"]) for e in cleaned["events"]] == [("refactored.py", 2)]
    assert locate.clean_trace("junk", source) is None
