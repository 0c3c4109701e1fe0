"""Step step_2_layer_norm_linear_log_softmax_256_fp32_to_fusions: layer_norm_linear_log_softmax_256_fp32 rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from layer_norm_256_fp32 import Model as LayerNorm256Fp32
from linear_256x8192_fp32 import Model as Linear256x8192Fp32
from log_softmax_4x128x8192_fp32 import Model as LogSoftmax4x128x8192Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_f = LayerNorm256Fp32()
        self.head = Linear256x8192Fp32()
        self.log_softmax = LogSoftmax4x128x8192Fp32()

    def forward(self, x):
        layer_norm = self.ln_f(x)
        linear = self.head(layer_norm)
        log_softmax = self.log_softmax(linear)
        return (layer_norm, linear, log_softmax)


def get_inputs():
    return [torch.randn((4, 128, 256), dtype=torch.float32)]


def get_init_inputs():
    return []
