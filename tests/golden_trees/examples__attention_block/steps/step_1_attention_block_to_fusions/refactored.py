"""Step step_1_attention_block_to_fusions: attention_block rewritten as calls of its 7 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linear_512x512_fp32 import Model as Linear512x512Fp32
from matmul_8x8x256x256_8x8x256x64_fp32 import Model as Matmul8x8x256x2568x8x256x64Fp32
from matmul_8x8x256x64_8x8x64x256_fp32 import Model as Matmul8x8x256x648x8x64x256Fp32
from softmax_8x8x256x256_fp32 import Model as Softmax8x8x256x256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = Linear512x512Fp32()
        self.k_proj = Linear512x512Fp32()
        self.v_proj = Linear512x512Fp32()
        self.matmul = Matmul8x8x256x648x8x64x256Fp32()
        self.softmax = Softmax8x8x256x256Fp32()
        self.matmul_1 = Matmul8x8x256x2568x8x256x64Fp32()
        self.out_proj = Linear512x512Fp32()

    def forward(self, x):
        linear = self.q_proj(x)
        view = linear.view([8, 256, 8, 64])
        transpose = view.transpose(1, 2)
        linear_1 = self.k_proj(x)
        view_1 = linear_1.view([8, 256, 8, 64])
        transpose_1 = view_1.transpose(1, 2)
        linear_2 = self.v_proj(x)
        view_2 = linear_2.view([8, 256, 8, 64])
        transpose_2 = view_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = self.matmul(transpose, transpose_3)
        div = matmul / 8.0
        softmax = self.softmax(div)
        matmul_1 = self.matmul_1(softmax, transpose_2)
        transpose_4 = matmul_1.transpose(1, 2)
        contiguous = transpose_4.contiguous()
        view_3 = contiguous.view([8, 256, 512])
        linear_3 = self.out_proj(view_3)
        return linear_3


def get_inputs():
    return [torch.randn((8, 256, 512), dtype=torch.float32)]


def get_init_inputs():
    return []
