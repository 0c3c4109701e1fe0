import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "children"))

import torch
import torch.nn as nn

from embedding_16x8_i64_fp32 import Model as Embedding
from linear_8x16_fp32 import Model as Linear
from tanh_fp32 import Model as Tanh


class RefactoredModel(nn.Module):
    def __init__(self, vocab=16, d=8):
        super().__init__()
        self.embed = Embedding(vocab, d)
        self.act = Tanh()
        self.unembed = Linear(d, vocab)

    def forward(self, tokens):
        return self.unembed(self.act(self.embed(tokens)))


def get_inputs():
    return [torch.randint(0, 16, (2, 5))]


def get_init_inputs():
    return [16, 8]
