import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x): return "done"
def get_inputs(): return [torch.randn(2)]
def get_init_inputs(): return []
