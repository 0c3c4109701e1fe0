"""Step step_2_layer_norm_linear_512_fp32_to_fusions: layer_norm_linear_512_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from layer_norm_512_fp32 import Model as LayerNorm512Fp32
from linear_512x8192_fp32 import Model as Linear512x8192Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_f = LayerNorm512Fp32()
        self.lm_head = Linear512x8192Fp32()

    def forward(self, x):
        layer_norm = self.ln_f(x)
        linear = self.lm_head(layer_norm)
        return linear


def get_inputs():
    return [torch.randn((4, 128, 512), dtype=torch.float32)]


def get_init_inputs():
    return []
