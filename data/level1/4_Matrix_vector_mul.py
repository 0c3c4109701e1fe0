"""Matrix-vector product: [M, K] @ [K, 1]."""
import torch
import torch.nn as nn

M = 4096
K = 16384


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, x):
        return torch.matmul(A, x)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, 1)]


def get_init_inputs():
    return []
