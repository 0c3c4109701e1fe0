"""Step step_2_window_attention_96x288_fp32_to_fusions: window_attention_96x288_fp32 rewritten as calls of its 7 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from linalg_vector_norm_clamp_min_div_32x3x49x32_fp32 import Model as LinalgVectorNormClampMinDiv32x3x49x32Fp32
from linear_96x288_fp32 import Model as Linear96x288Fp32
from linear_96x96_fp32 import Model as Linear96x96Fp32
from matmul_32x3x49x49_32x3x49x32_fp32 import Model as Matmul32x3x49x4932x3x49x32Fp32
from matmul_mul_add_3x1x1_fp32 import Model as MatmulMulAdd3x1x1Fp32
from softmax_32x3x49x49_fp32 import Model as Softmax32x3x49x49Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = Linear96x288Fp32()
        self.linalg_vector_norm_clamp_min_div = LinalgVectorNormClampMinDiv32x3x49x32Fp32()
        self.linalg_vector_norm_clamp_min_div_1 = LinalgVectorNormClampMinDiv32x3x49x32Fp32()
        self.matmul_mul_add_add = MatmulMulAdd3x1x1Fp32()
        self.softmax = Softmax32x3x49x49Fp32()
        self.matmul = Matmul32x3x49x4932x3x49x32Fp32()
        self.proj = Linear96x96Fp32()

    def forward(self, x):
        linear = self.linear(x)
        reshape = linear.reshape([32, 49, 3, 3, 32])
        permute = reshape.permute([2, 0, 3, 1, 4])
        select = permute[0]
        select_1 = permute[1]
        select_2 = permute[2]
        div = self.linalg_vector_norm_clamp_min_div(select)
        div_1 = self.linalg_vector_norm_clamp_min_div_1(select_1)
        transpose = div_1.transpose(-2, -1)
        add = self.matmul_mul_add_add(div, transpose)
        view = add.view([32, 3, 49, 49])
        softmax = self.softmax(view)
        matmul = self.matmul(softmax, select_2)
        transpose_1 = matmul.transpose(1, 2)
        reshape_1 = transpose_1.reshape([32, 49, 96])
        linear_1 = self.proj(reshape_1)
        return linear_1


def get_inputs():
    return [torch.randn((32, 49, 96), dtype=torch.float32)]


def get_init_inputs():
    return []
