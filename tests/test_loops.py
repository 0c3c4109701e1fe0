"""Loops over time: one op while tracing (frontend/loops.py), one kernel written as the looping
function's own specialised source (codegen/loop_source.py), one logical op for the verifier
(policy.loop_steps)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from codegen.loop_source import LoopSourceError, specialised_source
from frontend.loader import load_model
from frontend.trace import trace
from hdecomp_ir.policy import LOOP_MAX_EXTRA, LOOP_MIN_STEPS, WEIGHT_SUFFIX, loop_steps

SCAN_MODEL = Path(__file__).resolve().parents[1] / "data" / "level3" / "43_MambaSelectiveScanLoop.py"


def _with_seq_len(tmp_path: Path, seq_len: int) -> Path:
    path = tmp_path / f"scan_{seq_len}.py"
    text = SCAN_MODEL.read_text().replace("seq_len = 2048", f"seq_len = {seq_len}")
    path.write_text(text.replace("batch_size = 2", "batch_size = 1"))
    return path


def test_tracing_does_not_grow_with_the_sequence(tmp_path: Path) -> None:
    """The scan is one node at sequence 64 and at 4096 (unrolled it was 5 nodes per step)."""
    counts, seconds = [], []
    for seq_len in (64, 4096):
        start = time.monotonic()
        traced = trace(load_model(_with_seq_len(tmp_path, seq_len)))
        seconds.append(time.monotonic() - start)
        counts.append(len(traced.graph.nodes))
        loops = [n for n in traced.graph.nodes
                 if getattr(n.target, "_opname", "") == "loop_region"]
        assert len(loops) == 1 and len(traced.loops) == 1
        region = traced.loops[loops[0].args[1]]
        assert region.name == "selective_scan" and region.steps >= seq_len
    assert counts[0] == counts[1]
    assert seconds[1] < 60  # unrolled, 4096 steps took minutes


def test_loop_in_the_models_own_forward_stays_unrolled(tmp_path: Path) -> None:
    """Making the root's forward one op would leave nothing to decompose."""
    path = tmp_path / "root_loop.py"
    path.write_text('''
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        for _ in range(20):
            x = torch.tanh(x) * 0.5
        return x


def get_inputs():
    return [torch.randn(4, 8)]


def get_init_inputs():
    return []
''')
    traced = trace(load_model(path))
    assert not traced.loops
    assert sum(1 for n in traced.graph.nodes if "tanh" in str(n.target)) == 20


def _executed_lines(func, *args, **kwargs) -> set[int]:
    lines: set[int] = set()

    def tracer(frame, event, arg):
        if frame.f_code is not func.__code__:
            return None

        def local(frame, event, arg):
            if event == "line":
                lines.add(frame.f_lineno)
            return local
        return local

    sys.settrace(tracer)
    try:
        func(*args, **kwargs)
    finally:
        sys.settrace(None)
    return lines


def _scan_with_branches(x, steps, fast=False, mode="plain"):
    """Docstrings stay."""
    try_fast = fast and x.is_cuda
    if try_fast:
        import fancy_kernels  # noqa: F401  # not installed: never runs
        helper = fancy_kernels.scan
    else:
        helper = None
    if mode == "fancy" and helper is not None:
        out = helper(x)
    elif mode == "plain":
        state = torch.zeros_like(x[..., 0])
        outs = []
        for t in range(steps):
            state = state * 0.9 + x[..., t]
            outs.append(state)
        out = torch.stack(outs, dim=-1)
    else:
        out = x
    return out


def test_specialised_source_keeps_the_branches_this_call_took() -> None:
    x = torch.randn(2, 3, 20)
    lines = _executed_lines(_scan_with_branches, x, 20)
    source, imports = specialised_source(_scan_with_branches, lines)
    assert '"""Docstrings stay."""' in source
    assert "fancy_kernels" not in source and "helper" not in source and "try_fast" not in source
    assert "for t in range(steps):" in source and "out = x" not in source
    assert "if " not in source
    assert imports == ["import torch"]
    namespace: dict = {"torch": torch}
    exec(source, namespace)  # the specialised function computes what the original does here
    assert torch.equal(namespace["_scan_with_branches"](x, 20), _scan_with_branches(x, 20))


def test_specialised_source_refuses_names_a_file_cannot_import() -> None:
    import os.path

    def uses_os(x):
        for _ in range(20):
            x = x + len(os.path.sep)
        return x

    lines = _executed_lines(uses_os, torch.zeros(2))
    try:
        specialised_source(uses_os, lines)
    except LoopSourceError as err:
        assert "`os`" in str(err)
    else:
        raise AssertionError("a loop using os was written into a component file")


def test_loop_steps_is_one_op_for_a_scan_not_for_a_stack_of_layers() -> None:
    body = ["mul", "add", "matmul"]
    scan = ["add", "softplus", "mul", "exp", "mul", "mul"] + body * 64 + ["mul", "add", "silu", "mul"]
    assert loop_steps(scan) == 64
    assert loop_steps(body * (LOOP_MIN_STEPS - 1)) == 0  # too few steps
    assert loop_steps(["relu"] * (LOOP_MAX_EXTRA + 1) + body * 64) == 0  # too much around it
    # 16 identical layers read a weight per step: not a loop over time
    layers = [f"linear{WEIGHT_SUFFIX}", "relu"] * 16
    assert loop_steps(layers) == 0
