"""Step step_2_attention_1024x1024_fp32_to_fusions: attention_1024x1024_fp32 rewritten as calls of its 5 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from attention_4x16x256x64_4x16x64x256_fp32 import Model as Attention4x16x256x644x16x64x256Fp32
from linear_1024x1024_fp32 import Model as Linear1024x1024Fp32
from qkv_projection_1024x1024_fp32 import Model as QkvProjection1024x1024Fp32
from rotary_embedding_64_fp32_16x256x64 import Model as RotaryEmbedding64Fp3216x256x64
from rotary_embedding_64_fp32_4x256x64 import Model as RotaryEmbedding64Fp324x256x64


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv_projection = QkvProjection1024x1024Fp32()
        self.rotary_embedding = RotaryEmbedding64Fp3216x256x64()
        self.rotary_embedding_1 = RotaryEmbedding64Fp324x256x64()
        self.attention = Attention4x16x256x644x16x64x256Fp32()
        self.wo = Linear1024x1024Fp32()

    def forward(self, x):
        transpose, transpose_1, linear = self.qkv_projection(x)
        view = linear.view([4, 256, 4, 64])
        transpose_2 = view.transpose(1, 2)
        add = self.rotary_embedding(transpose)
        add_1 = self.rotary_embedding_1(transpose_1)
        repeat_interleave = torch.repeat_interleave(add_1, 4, dim=1)
        repeat_interleave_1 = torch.repeat_interleave(transpose_2, 4, dim=1)
        transpose_3 = repeat_interleave.transpose(-2, -1)
        matmul = self.attention(add, transpose_3, repeat_interleave_1)
        transpose_4 = matmul.transpose(1, 2)
        reshape = transpose_4.reshape([4, 256, -1])
        linear_1 = self.wo(reshape)
        return linear_1


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []
