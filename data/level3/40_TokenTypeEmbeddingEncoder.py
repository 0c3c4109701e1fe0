"""A BERT-style encoder: word, token-type and position embeddings, then one encoder layer whose
attention mask is built from positions the way transformers 5 builds it for packed sequences.

Two patterns of real encoders meet here. The token-type and position indices are non-persistent
index buffers, so their embeddings are computed from weights alone and belong to the kernel that
adds them (lowering once failed on them in code generation). The mask is integer and boolean
arithmetic on positions (diff, ne, cumsum, `&`): plumbing, not seven kernels.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 4
seq_len = 64
vocab_size = 1000
d_model = 128
n_heads = 4
d_ff = 512
max_positions = 128
segment = 16


class Embeddings(nn.Module):
    def __init__(self, vocab_size, d_model, max_positions):
        super().__init__()
        self.word = nn.Embedding(vocab_size, d_model)
        self.token_type = nn.Embedding(2, d_model)
        self.position = nn.Embedding(max_positions, d_model)
        self.norm = nn.LayerNorm(d_model, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(max_positions)[None, :], persistent=False)
        self.register_buffer("token_type_ids", torch.zeros(1, max_positions, dtype=torch.long),
                             persistent=False)

    def forward(self, ids):
        b, t = ids.shape
        types = self.token_type_ids[:, :t].expand(b, t)
        h = self.word(ids) + self.token_type(types) + self.position(self.position_ids[:, :t])
        return self.norm(h)


class EncoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, h, keep):
        b, t, d = h.shape
        q, k, v = self.qkv(h).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        h = self.norm1(h + self.out(a.transpose(1, 2).reshape(b, t, d)))
        return self.norm2(h + self.ff2(F.gelu(self.ff1(h))))


class Model(nn.Module):
    def __init__(self, vocab_size, d_model, n_heads, d_ff, max_positions, segment):
        super().__init__()
        self.segment = segment
        self.embeddings = Embeddings(vocab_size, d_model, max_positions)
        self.layer = EncoderLayer(d_model, n_heads, d_ff)

    def forward(self, ids):
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device) % self.segment  # packed sequences of `segment`
        starts = torch.diff(pos, prepend=pos[:1] - 1) != 1
        seq = torch.cumsum(starts, dim=-1)
        keep = (seq[:, None] == seq[None, :]) & (pos[None, :] <= pos[:, None])
        return self.layer(self.embeddings(ids), keep)


def get_inputs():
    return [torch.randint(0, vocab_size, (batch_size, seq_len))]


def get_init_inputs():
    return [vocab_size, d_model, n_heads, d_ff, max_positions, segment]
