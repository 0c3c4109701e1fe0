import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x):
        n = int(x.max().item())
        return x[:n]
def get_inputs(): return [torch.randn(8)]
def get_init_inputs(): return []
