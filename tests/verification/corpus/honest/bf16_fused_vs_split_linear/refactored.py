import torch
import torch.nn as nn

from children.bias_add_64_bf16 import Model as BiasAdd
from children.gelu_bf16 import Model as Gelu
from children.matmul_64x64_bf16 import Model as MatMul


class RefactoredModel(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.mm = MatMul(d, d)
        self.bias = BiasAdd(d)
        self.act = Gelu()

    def forward(self, x):
        return self.act(self.bias(self.mm(x)))


def get_inputs():
    return [torch.randn(4, 16, 64, dtype=torch.bfloat16)]


def get_init_inputs():
    return [64]
