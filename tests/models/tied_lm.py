"""Tiny language model: integer inputs, a head tied to the embedding, in-place ops, nested outputs."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, vocab: int = 50, dim: int = 16):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, ids):
        h = self.norm(self.emb(ids))
        h += 1.0
        logits = self.head(h)
        return logits, (h, [logits.softmax(-1)])


def get_inputs():
    return [torch.randint(0, 50, (2, 6))]


def get_init_inputs():
    return [50, 16]
