"""Recorded routings of mixtures of experts (issue 13): the expert kernel files carry the counts
of one routing the model's own router computes on a seeded input, named in the analysis, and a
routing that cannot be evaluated falls back to a balanced one, said so.

Structural only (build_ir + emit, no verification): test_transformers.py verifies the MoE drafts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from codegen.emit import emit
from frontend.loader import load_model
from hdecomp_ir.spec import BASE_SEED
from workflow.lower import build_ir

HF = Path(__file__).resolve().parent / "models" / "hf"
# the router module of layer 0 and the tensors its initialiser draws, in _init_weights' order
ROUTERS = {"mixtral": ("gate", ("weight",)), "gpt_oss": ("router", ("weight", "bias"))}


def _lower(model_file: Path) -> tuple[object, dict[str, str]]:
    ir = build_ir(model_file)
    out = emit(ir, source=model_file.read_text(), buffers={}, source_level="test",
               timestamp="T", model_rel="model.py")
    return ir, {path: data.decode() if isinstance(data, bytes) else data
                for path, data in out.files.items() if not path.endswith(".pt")}


def _offsets(source: str) -> list[int]:
    """The offsets a grouped-mm kernel file's get_inputs() passes (its last input)."""
    scope: dict = {}
    exec(compile(source, "<kernel>", "exec"), scope)  # noqa: S102 - our own generated file
    return scope["get_inputs"]()[-1].tolist()


@pytest.mark.parametrize("arch", sorted(ROUTERS))
def test_expert_offsets_are_the_routers_counts_on_the_seeded_input(arch: str) -> None:
    ir, files = _lower(HF / f"{arch}.py")
    kernels = sorted(p for p in files if re.match(r"level_0_kernel/grouped_mm_.*\.py$", p))
    assert len(kernels) == 2, kernels
    written = [_offsets(files[k]) for k in kernels]
    assert written[0] == written[1]  # one routing feeds the up and the down projection

    # Independently of frontend/routing.py: the real tiny model's own router, its weights drawn
    # as the model's _init_weights draws them (normal, std=initializer_range) under BASE_SEED,
    # on torch.randn of the MoE block's input under BASE_SEED.
    model = load_model(HF / f"{arch}.py", device="cpu").model
    name, tensors = ROUTERS[arch]
    router = getattr(model.model.model.layers[0].mlp, name)
    std = model.model.config.initializer_range
    torch.manual_seed(BASE_SEED)
    with torch.no_grad():
        for tensor in tensors:
            getattr(router, tensor).normal_(0.0, std)
        hidden = model.model.config.hidden_size
        x = torch.randn(2, 16, hidden, generator=torch.Generator().manual_seed(BASE_SEED))
        _logits, _scores, chosen = router(x.reshape(-1, hidden))
    experts = model.model.config.num_local_experts
    counts = torch.bincount(chosen.flatten(), minlength=experts)
    assert written[0] == torch.cumsum(counts, 0).tolist()
    assert written[0][-1] == chosen.numel()  # every row goes to an expert: none left unwritten
    assert len(set(counts.tolist())) > 1  # a real routing here, not an even split

    recorded = next(iter(ir.traced.routings.values()))
    assert all(w.startswith("model.model.layers.") and f".mlp.{name}." in w
               for r in ir.traced.routings.values() for w in r.weights)  # never expert weights
    analysis = files["decomposition_analysis.md"]
    assert "one recorded routing" in analysis and "balanced" not in analysis
    assert f"Tokens per expert (rows of the grouped matmul): {counts.tolist()}" in analysis
    assert f"seeded random input of shape [2, 16, {hidden}] float32" in analysis
    assert f"seed {BASE_SEED}" in analysis and f"`{recorded.scope}`" in analysis
    assert f"drawn by the model's own initialiser under seed {BASE_SEED}" in analysis
    assert "each step's verification runs the model's own routing on every trial" in analysis


def test_two_lowerings_write_the_same_bytes() -> None:
    model_file = HF / "mixtral.py"
    first, second = [emit(build_ir(model_file), source=model_file.read_text(), buffers={},
                          source_level="test", timestamp="T", model_rel="model.py").files
                     for _ in range(2)]
    assert first.keys() == second.keys()
    assert [p for p in first if first[p] != second[p]] == []


# A hand-written MoE block: a top-1 router, expert counts by histc, one grouped matmul.
MOE = '''
import torch
import torch.nn.functional as F
from torch import nn


class MoE(nn.Module):
    def __init__(self):
        super().__init__()
        {router}
        self.experts = nn.Parameter(torch.randn(4, 8, 8))

    def forward(self, x):
        chosen = {logits}.topk(1, dim=-1).indices.flatten()
        order = chosen.argsort()
        counts = torch.histc(chosen.float(), bins=4, min=0, max=3).int()
        offs = torch.cumsum(counts, dim=0, dtype=torch.int32)
        return F.grouped_mm(x[order], self.experts, offs=offs)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.moe = MoE()

    def forward(self, x):
        return self.moe(torch.relu(x))


def get_inputs():
    return [torch.randn(16, 8)]


def get_init_inputs():
    return []
'''
# A router made by the constructor alone has no initialiser to replay; nn.Linear has one.
BARE = {"router": "self.router = nn.Parameter(torch.randn(4, 8))",
        "logits": "(x @ self.router.t())"}
LINEAR = {"router": "self.router = nn.Linear(8, 4, bias=False)", "logits": "self.router(x)"}


def test_a_router_without_initialiser_falls_back_to_a_balanced_routing_and_says_why(
        tmp_path: Path) -> None:
    model_file = tmp_path / "moe_bare.py"
    model_file.write_text(MOE.format(**BARE))
    ir, files = _lower(model_file)
    (recorded,) = ir.traced.routings.values()
    assert recorded.offsets is None and "no initialiser" in recorded.reason
    (kernel,) = [p for p in files if p.startswith("level_0_kernel/grouped_mm_")]
    assert _offsets(files[kernel]) == [4, 8, 12, 16]  # balanced: 16 rows over 4 experts
    analysis = files["decomposition_analysis.md"]
    assert "a balanced routing" in analysis and "[4, 4, 4, 4] of 16 rows" in analysis
    assert "`moe` has no initialiser to call" in analysis


def test_a_torch_nn_router_is_recorded_through_its_reset_parameters(tmp_path: Path) -> None:
    model_file = tmp_path / "moe_linear.py"
    model_file.write_text(MOE.format(**LINEAR))
    ir, files = _lower(model_file)
    (recorded,) = ir.traced.routings.values()
    assert recorded.scope == "moe" and recorded.weights == ("moe.router.weight",)
    torch.manual_seed(BASE_SEED)
    router = torch.nn.Linear(8, 4, bias=False)  # its constructor draws by reset_parameters
    # the seeded input is the activation entering `moe` (the parent's relu output), drawn as a
    # component's get_inputs() draws a float input: randn at its shape
    x = torch.randn(16, 8, generator=torch.Generator().manual_seed(BASE_SEED))
    with torch.no_grad():
        counts = torch.bincount(router(x).topk(1, dim=-1).indices.flatten(), minlength=4)
    (kernel,) = [p for p in files if p.startswith("level_0_kernel/grouped_mm_")]
    assert _offsets(files[kernel]) == torch.cumsum(counts, 0).tolist() == list(recorded.offsets)
