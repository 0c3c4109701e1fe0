import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import math

import torch
import torch.nn as nn

from linear_8x8_fp32 import Model as Linear
from matmul_fp32 import Model as Matmul
from softmax_fp32 import Model as Softmax


class RefactoredModel(nn.Module):
    def __init__(self, d=8, t=6):
        super().__init__()
        self.query = Linear(d, d)
        self.key = Linear(d, d)
        self.scores = Matmul()
        self.softmax = Softmax()

    def forward(self, x):
        T = x.shape[1]
        att = self.scores(self.query(x), self.key(x).transpose(1, 2)) * (1.0 / math.sqrt(x.shape[-1]))
        pos = torch.arange(T, device=x.device) % 3
        starts = torch.diff(pos, prepend=pos[:1] - 1) != 1  # masks from positions: plumbing
        seq = torch.cumsum(starts, dim=-1)
        keep = (seq[:, None] == seq[None, :]) & (pos[None, :] <= pos[:, None])
        future = ~keep
        att = att.masked_fill(future, float("-inf"))
        return self.softmax(att)


def get_inputs():
    return [torch.randn(2, 5, 8)]


def get_init_inputs():
    return [8, 6]
