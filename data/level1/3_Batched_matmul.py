"""Batched matrix multiplication with torch.bmm: [B, M, K] @ [B, K, N]."""
import torch
import torch.nn as nn

batch_size = 32
M = 256
K = 512
N = 384


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.bmm(A, B)


def get_inputs():
    return [torch.randn(batch_size, M, K), torch.randn(batch_size, K, N)]


def get_init_inputs():
    return []
