import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from add_position_5x8_fp32 import Model as AddPosition
from cat_cls_token_8_fp32 import Model as CatClsToken


class RefactoredModel(nn.Module):
    def __init__(self, d=8, n=4):
        super().__init__()
        self.cat = CatClsToken(d)
        self.add = AddPosition(n + 1, d)

    def forward(self, x):
        return self.add(self.cat(x))


def get_inputs():
    return [torch.randn(2, 4, 8)]


def get_init_inputs():
    return [8, 4]
