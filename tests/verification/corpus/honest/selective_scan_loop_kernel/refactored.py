"""Step step_1_scan_small_to_fusions: scan_small rewritten as calls of its 6 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from conv1d_silu_1x32_4_fp32 import Model as Conv1dSilu1x324Fp32
from linear_16x64_fp32 import Model as Linear16x64Fp32
from linear_32x16_fp32 import Model as Linear32x16Fp32
from linear_32x40_fp32 import Model as Linear32x40Fp32
from linear_8x32_fp32 import Model as Linear8x32Fp32
from selective_scan_32x16_fp32 import Model as SelectiveScan32x16Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.in_proj = Linear16x64Fp32()
        self.conv1d_silu = Conv1dSilu1x324Fp32()
        self.x_proj = Linear32x40Fp32()
        self.dt_proj = Linear8x32Fp32()
        self.selective_scan = SelectiveScan32x16Fp32()
        self.out_proj = Linear32x16Fp32()

    def forward(self, x):
        linear = self.in_proj(x)
        transpose = linear.transpose(1, 2)
        chunk = torch.chunk(transpose, 2, dim=1)
        getitem = chunk[0]
        getitem_1 = chunk[1]
        silu = self.conv1d_silu(getitem)
        transpose_1 = silu.transpose(1, 2)
        linear_1 = self.x_proj(transpose_1)
        split_with_sizes = torch.split(linear_1, [8, 16, 16], dim=-1)
        getitem_2 = split_with_sizes[0]
        getitem_3 = split_with_sizes[1]
        getitem_4 = split_with_sizes[2]
        linear_2 = self.dt_proj(getitem_2)
        transpose_2 = linear_2.transpose(1, 2)
        transpose_3 = getitem_3.transpose(1, 2)
        transpose_4 = getitem_4.transpose(1, 2)
        getitem_5 = self.selective_scan(silu, transpose_2, transpose_3, transpose_4, getitem_1)
        transpose_5 = getitem_5.transpose(1, 2)
        linear_3 = self.out_proj(transpose_5)
        return linear_3


def get_inputs():
    return [torch.randn((2, 32, 16), dtype=torch.float32)]


def get_init_inputs():
    return []
