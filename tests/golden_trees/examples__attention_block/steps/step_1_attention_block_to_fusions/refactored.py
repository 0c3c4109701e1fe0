"""Step step_1_attention_block_to_fusions: attention_block rewritten as calls of its 3 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from attention_8x8x256x64_8x8x64x256_fp32 import Model as Attention8x8x256x648x8x64x256Fp32
from linear_512x512_fp32 import Model as Linear512x512Fp32
from qkv_projection_512x512_fp32 import Model as QkvProjection512x512Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv_projection = QkvProjection512x512Fp32()
        self.attention = Attention8x8x256x648x8x64x256Fp32()
        self.out_proj = Linear512x512Fp32()

    def forward(self, x):
        transpose, transpose_1, linear = self.qkv_projection(x)
        view = linear.view([8, 256, 8, 64])
        transpose_2 = view.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.attention(transpose, transpose_3, transpose_2)
        transpose_4 = matmul.transpose(1, 2)
        contiguous = transpose_4.contiguous()
        view_1 = contiguous.view([8, 256, 512])
        linear_1 = self.out_proj(view_1)
        return linear_1


def get_inputs():
    return [torch.randn((8, 256, 512), dtype=torch.float32)]


def get_init_inputs():
    return []
