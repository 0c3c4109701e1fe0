"""Step step_1_21_GPTBlock_to_fusions: 21_GPTBlock rewritten as calls of its 7 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from attention_8x12x512x64_8x12x64x512_fp32 import Model as Attention8x12x512x648x12x64x512Fp32
from layer_norm_768_fp32 import Model as LayerNorm768Fp32
from linear_3072x768_fp32 import Model as Linear3072x768Fp32
from linear_768x2304_fp32 import Model as Linear768x2304Fp32
from linear_768x768_fp32 import Model as Linear768x768Fp32
from linear_new_gelu_768x3072_fp32 import Model as LinearNewGelu768x3072Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = LayerNorm768Fp32()
        self.attn_c_attn = Linear768x2304Fp32()
        self.attention = Attention8x12x512x648x12x64x512Fp32()
        self.attn_c_proj = Linear768x768Fp32()
        self.ln_2 = LayerNorm768Fp32()
        self.linear_newgelu = LinearNewGelu768x3072Fp32()
        self.mlp_c_proj = Linear3072x768Fp32()

    def forward(self, x):
        layer_norm = self.ln_1(x)
        linear = self.attn_c_attn(layer_norm)
        split = torch.split(linear, 768, dim=2)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        view = getitem.view([8, 512, 12, 64])
        transpose = view.transpose(1, 2)
        view_1 = getitem_1.view([8, 512, 12, 64])
        transpose_1 = view_1.transpose(1, 2)
        view_2 = getitem_2.view([8, 512, 12, 64])
        transpose_2 = view_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.attention(transpose, transpose_3, transpose_2)
        transpose_4 = matmul.transpose(1, 2)
        contiguous = transpose_4.contiguous()
        view_3 = contiguous.view([8, 512, 768])
        linear_1 = self.attn_c_proj(view_3)
        add = x + linear_1
        layer_norm_1 = self.ln_2(add)
        mul = self.linear_newgelu(layer_norm_1)
        linear_2 = self.mlp_c_proj(mul)
        add_1 = add + linear_2
        return add_1


def get_inputs():
    return [torch.randn((8, 512, 768), dtype=torch.float32)]


def get_init_inputs():
    return []
