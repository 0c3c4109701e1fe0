"""
Component: 31_LlamaDecoderBlock
Source: data/level3/31_LlamaDecoderBlock.py
Abstraction Level: model
Parent: root
Children: ['rms_norm_1024_fp32', 'attention_1024x1024_fp32', 'rms_norm_linear_silu_mul_1024_fp32']
Instances: 1

Operations: ['rms_norm', 'linear', 'linear', 'linear', 'rotary_embedding', 'rotary_embedding', 'matmul', 'add', 'softmax', 'matmul', 'linear', 'rms_norm', 'linear', 'silu', 'linear', 'mul', 'linear']

Input Shapes:
  - x: [4, 256, 1024] dtype=torch.float32

Output Shapes:
  - output: [4, 256, 1024] dtype=torch.float32

Weight Shapes:
  - attention_norm_weight: [1024] dtype=torch.float32
  - attention_wq.weight: [1024, 1024] dtype=torch.float32
  - attention_wk.weight: [256, 1024] dtype=torch.float32
  - attention_wv.weight: [256, 1024] dtype=torch.float32
  - attention_cos_cached: [256, 64] dtype=torch.float32
  - attention_sin_cached: [256, 64] dtype=torch.float32
  - attention_causal_mask: [256, 256] dtype=torch.float32
  - attention_wo.weight: [1024, 1024] dtype=torch.float32
  - ffn_norm_weight: [1024] dtype=torch.float32
  - feed_forward_w1.weight: [2816, 1024] dtype=torch.float32
  - feed_forward_w3.weight: [2816, 1024] dtype=torch.float32
  - feed_forward_w2.weight: [1024, 2816] dtype=torch.float32
"""

"""A LLaMA-style decoder block: RMSNorm, rotary grouped-query attention, RMSNorm, SwiGLU MLP."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 4
seq_len = 256
max_seqlen = 256
dim = 1024
n_heads = 16
n_kv_heads = 4
ffn_hidden = 2816
rope_theta = 10000.0


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, max_seqlen, theta):
        super().__init__()
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads
        self.head_dim = dim // n_heads
        self.n_rep = n_heads // n_kv_heads
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)

        # rotary tables: angle[t, i] = t * theta^(-2i/head_dim), duplicated for both halves
        inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        angles = torch.outer(torch.arange(max_seqlen).float(), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer("cos_cached", angles.cos())
        self.register_buffer("sin_cached", angles.sin())
        mask = torch.full((max_seqlen, max_seqlen), float("-inf")).triu(1)
        self.register_buffer("causal_mask", mask)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)

        cos = self.cos_cached[:t]
        sin = self.sin_cached[:t]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin

        # grouped-query attention: each k/v head serves n_rep query heads
        k = k.repeat_interleave(self.n_rep, dim=1)
        v = v.repeat_interleave(self.n_rep, dim=1)

        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        scores = scores + self.causal_mask[:t, :t]
        probs = F.softmax(scores.float(), dim=-1).type_as(q)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, -1)
        return self.wo(out)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Model(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, ffn_hidden, max_seqlen, rope_theta=10000.0):
        super().__init__()
        self.attention_norm = RMSNorm(dim)
        self.attention = Attention(dim, n_heads, n_kv_heads, max_seqlen, rope_theta)
        self.ffn_norm = RMSNorm(dim)
        self.feed_forward = FeedForward(dim, ffn_hidden)

    def forward(self, x):
        h = x + self.attention(self.attention_norm(x))
        return h + self.feed_forward(self.ffn_norm(h))


def get_inputs():
    return [torch.randn(batch_size, seq_len, dim)]


def get_init_inputs():
    return [dim, n_heads, n_kv_heads, ffn_hidden, max_seqlen, rope_theta]


def get_expected_output_shape():
    return [(4, 256, 1024)]


ALLOW_INF = False


def run_tests():
    """Build the model, run it on get_inputs(), check the output shapes and finiteness."""

    def tensors_in(value):
        """The tensors of a (nested) tuple, list or dict output, in order."""
        if isinstance(value, torch.Tensor):
            return [value]
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            return [t for v in value for t in tensors_in(v)]
        return []

    try:
        model = Model(*get_init_inputs())
        model.eval()
        with torch.no_grad():
            inputs = get_inputs()
            output = model(*inputs)
            outputs = tensors_in(output)
            for out in outputs:
                assert out is not None, "Output is None"
                if out.is_floating_point():
                    assert not torch.isnan(out).any(), "Output contains NaN"
                    assert ALLOW_INF or not torch.isinf(out).any(), "Output contains Inf"
            actual = [tuple(o.shape) for o in outputs]
            expected = [tuple(s) for s in get_expected_output_shape()]
            assert actual == expected, f"Output shapes {actual} != expected {expected}"
            print(f"Input shape(s): {[tuple(x.shape) for x in inputs if isinstance(x, torch.Tensor)]}")
            print(f"Output shape(s): {actual}")
            print("PASS")
            return True
    except Exception as e:
        print(f"FAIL: {e}")
        import traceback
        traceback.print_exc()
        return False


if __name__ == "__main__":
    import sys
    sys.exit(0 if run_tests() else 1)
