import torch
import torch.nn as nn

from children.linear_32x64_fp16 import Model as Up
from children.linear_64x32_fp16 import Model as Down
from children.silu_fp16 import Model as Silu


class RefactoredModel(nn.Module):
    def __init__(self, d=32, hidden=64):
        super().__init__()
        self.up = Up(d, hidden)
        self.act = Silu()
        self.down = Down(hidden, d)

    def forward(self, x):
        return x + self.down(self.act(self.up(x)))


def get_inputs():
    return [torch.randn(2, 8, 32, dtype=torch.float16)]


def get_init_inputs():
    return [32, 64]
