"""Step step_1_31_LlamaDecoderBlock_to_layers: 31_LlamaDecoderBlock rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from attention_1024x1024_fp32 import Model as Attention1024x1024Fp32
from rms_norm_1024_fp32 import Model as RmsNorm1024Fp32
from rms_norm_linear_silu_mul_1024_fp32 import Model as RmsNormLinearSiluMul1024Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_norm = RmsNorm1024Fp32()
        self.attention = Attention1024x1024Fp32()
        self.rms_norm_linear_silu_mul = RmsNormLinearSiluMul1024Fp32()

    def forward(self, x):
        mul = self.attention_norm(x)
        linear = self.attention(mul)
        add = x + linear
        linear_1 = self.rms_norm_linear_silu_mul(add)
        add_1 = add + linear_1
        return add_1


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []
