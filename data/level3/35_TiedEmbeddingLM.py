"""A small decoder-only language model with the output head tied to the token embedding.

Integer token ids in, a learned position table as a buffer-free parameter, in-place residual
updates, and a nested output: logits, and a (final hidden state, [log-probabilities]) pair.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 4
seq_len = 128
vocab_size = 8192
d_model = 256
n_heads = 4
n_layers = 2


class Block(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, 4 * d_model)
        self.fc2 = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x += self.proj(y.transpose(1, 2).reshape(b, t, d))
        x += self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x


class Model(nn.Module):
    def __init__(self, vocab_size, d_model, n_heads, n_layers, max_len):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, ids):
        x = self.tok(ids) + self.pos[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        h = self.ln_f(x)
        logits = self.head(h)
        return logits, (h, [F.log_softmax(logits, dim=-1)])


def get_inputs():
    return [torch.randint(0, vocab_size, (batch_size, seq_len))]


def get_init_inputs():
    return [vocab_size, d_model, n_heads, n_layers, seq_len]
