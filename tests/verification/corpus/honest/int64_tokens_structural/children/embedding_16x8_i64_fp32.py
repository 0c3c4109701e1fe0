"""
Component: embedding
Abstraction Level: kernel
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, vocab, d):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)

    def forward(self, tokens):
        return self.embedding(tokens)


def get_inputs():
    return [torch.randint(0, 16, (2, 5))]


def get_init_inputs():
    return [16, 8]
