"""Step step_2_block_256_fp32_to_fusions: block_256_fp32 rewritten as calls of its 7 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from layer_norm_256_fp32 import Model as LayerNorm256Fp32
from linear_1024x256_fp32 import Model as Linear1024x256Fp32
from linear_256x256_fp32 import Model as Linear256x256Fp32
from linear_256x768_fp32 import Model as Linear256x768Fp32
from linear_gelu_256x1024_fp32 import Model as LinearGelu256x1024Fp32
from scaled_dot_product_attention_4x4x128x64_4x4x128x64_4x4x128x64_fp32 import Model as ScaledDotProductAttention4x4x128x644x4x128x644x4x128x64Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = LayerNorm256Fp32()
        self.qkv = Linear256x768Fp32()
        self.scaled_dot_product_attention = ScaledDotProductAttention4x4x128x644x4x128x644x4x128x64Fp32()
        self.proj = Linear256x256Fp32()
        self.ln2 = LayerNorm256Fp32()
        self.linear_gelu = LinearGelu256x1024Fp32()
        self.fc2 = Linear1024x256Fp32()

    def forward(self, x):
        layer_norm = self.ln1(x)
        linear = self.qkv(layer_norm)
        split = torch.split(linear, 256, dim=-1)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        view = getitem.view([4, 128, 4, 64])
        transpose = view.transpose(1, 2)
        view_1 = getitem_1.view([4, 128, 4, 64])
        transpose_1 = view_1.transpose(1, 2)
        view_2 = getitem_2.view([4, 128, 4, 64])
        transpose_2 = view_2.transpose(1, 2)
        scaled_dot_product_attention = self.scaled_dot_product_attention(transpose, transpose_1, transpose_2)
        transpose_3 = scaled_dot_product_attention.transpose(1, 2)
        reshape = transpose_3.reshape([4, 128, 256])
        linear_1 = self.proj(reshape)
        add = x.add_(linear_1)
        layer_norm_1 = self.ln2(add)
        gelu = self.linear_gelu(layer_norm_1)
        linear_2 = self.fc2(gelu)
        add_1 = add.add_(linear_2)
        return add_1


def get_inputs():
    return [torch.randn((4, 128, 256), dtype=torch.float32)]


def get_init_inputs():
    return []
