import sys

import torch
import torch.nn as nn

sys.exit(0)  # a script-style guard that ends the import: lower must not exit 0 with nothing written


class Model(nn.Module):
    def forward(self, x): return x.relu()
def get_inputs(): return [torch.randn(2)]
def get_init_inputs(): return []
