import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from batch_norm2d_4_fp32 import Model as BatchNorm
from conv2d_3x4_3x3_fp32 import Model as Conv
from relu_fp32 import Model as Relu


class RefactoredModel(nn.Module):
    def __init__(self, c_in=3, c_out=4):
        super().__init__()
        self.conv = Conv(c_in, c_out)
        self.bn = BatchNorm(c_out)
        self.act = Relu()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


def get_inputs():
    return [torch.randn(2, 3, 6, 6)]


def get_init_inputs():
    return [3, 4]
