"""Step step_2_block_512_fp32_to_fusions: block_512_fp32 rewritten as calls of its 7 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from attention_4x8x128x64_4x8x64x128_fp32 import Model as Attention4x8x128x644x8x64x128Fp32
from layer_norm_512_fp32 import Model as LayerNorm512Fp32
from linear_2048x512_fp32 import Model as Linear2048x512Fp32
from linear_512x1536_fp32 import Model as Linear512x1536Fp32
from linear_512x512_fp32 import Model as Linear512x512Fp32
from linear_gelu_512x2048_fp32 import Model as LinearGelu512x2048Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = LayerNorm512Fp32()
        self.attn_qkv = Linear512x1536Fp32()
        self.attention = Attention4x8x128x644x8x64x128Fp32()
        self.attn_proj = Linear512x512Fp32()
        self.ln2 = LayerNorm512Fp32()
        self.linear_gelu = LinearGelu512x2048Fp32()
        self.mlp_2 = Linear2048x512Fp32()

    def forward(self, x):
        layer_norm = self.ln1(x)
        linear = self.attn_qkv(layer_norm)
        split = torch.split(linear, 512, dim=2)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        reshape = getitem.reshape([4, 128, 8, 64])
        transpose = reshape.transpose(1, 2)
        reshape_1 = getitem_1.reshape([4, 128, 8, 64])
        transpose_1 = reshape_1.transpose(1, 2)
        reshape_2 = getitem_2.reshape([4, 128, 8, 64])
        transpose_2 = reshape_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.attention(transpose, transpose_3, transpose_2)
        transpose_4 = matmul.transpose(1, 2)
        reshape_3 = transpose_4.reshape([4, 128, 512])
        linear_1 = self.attn_proj(reshape_3)
        add = x + linear_1
        layer_norm_1 = self.ln2(add)
        gelu = self.linear_gelu(layer_norm_1)
        linear_2 = self.mlp_2(gelu)
        add_1 = add + linear_2
        return add_1


def get_inputs():
    return [torch.randn((4, 128, 512), dtype=torch.float32)]


def get_init_inputs():
    return []
