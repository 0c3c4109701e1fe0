import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x):
        hoard = []
        while True:
            hoard.append(bytearray(1 << 27))
def get_inputs(): return [torch.randn(2)]
def get_init_inputs(): return []
