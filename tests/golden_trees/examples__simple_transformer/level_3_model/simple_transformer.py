"""
Component: simple_transformer
Source: data/examples/simple_transformer.py
Abstraction Level: model
Parent: root
Children: ['embedding_add_8192x512_i64_fp32', 'block_512_fp32', 'block_512_fp32', 'block_512_fp32', 'block_512_fp32', 'layer_norm_linear_512_fp32']
Instances: 1

Operations: ['embedding', 'add', 'layer_norm', 'linear', 'matmul', 'masked_fill', 'softmax', 'matmul', 'linear', 'layer_norm', 'linear', 'gelu', 'linear', 'layer_norm', 'linear', 'matmul', 'masked_fill', 'softmax', 'matmul', 'linear', 'layer_norm', 'linear', 'gelu', 'linear', 'layer_norm', 'linear', 'matmul', 'masked_fill', 'softmax', 'matmul', 'linear', 'layer_norm', 'linear', 'gelu', 'linear', 'layer_norm', 'linear', 'matmul', 'masked_fill', 'softmax', 'matmul', 'linear', 'layer_norm', 'linear', 'gelu', 'linear', 'layer_norm', 'linear']

Input Shapes:
  - idx: [4, 128] dtype=torch.int64

Output Shapes:
  - output: [4, 128, 8192] dtype=torch.float32

Weight Shapes:
  - tok_emb.weight: [8192, 512] dtype=torch.float32
  - pos_emb: [1, 128, 512] dtype=torch.float32
  - blocks_0_ln1.weight: [512] dtype=torch.float32
  - blocks_0_ln1.bias: [512] dtype=torch.float32
  - blocks_0_attn_qkv.weight: [1536, 512] dtype=torch.float32
  - blocks_0_attn_qkv.bias: [1536] dtype=torch.float32
  - blocks_0_attn_causal_mask: [1, 1, 128, 128] dtype=torch.bool
  - blocks_0_attn_proj.weight: [512, 512] dtype=torch.float32
  - blocks_0_attn_proj.bias: [512] dtype=torch.float32
  - blocks_0_ln2.weight: [512] dtype=torch.float32
  - blocks_0_ln2.bias: [512] dtype=torch.float32
  - blocks_0_mlp_0.weight: [2048, 512] dtype=torch.float32
  - blocks_0_mlp_0.bias: [2048] dtype=torch.float32
  - blocks_0_mlp_2.weight: [512, 2048] dtype=torch.float32
  - blocks_0_mlp_2.bias: [512] dtype=torch.float32
  - blocks_1_ln1.weight: [512] dtype=torch.float32
  - blocks_1_ln1.bias: [512] dtype=torch.float32
  - blocks_1_attn_qkv.weight: [1536, 512] dtype=torch.float32
  - blocks_1_attn_qkv.bias: [1536] dtype=torch.float32
  - blocks_1_attn_causal_mask: [1, 1, 128, 128] dtype=torch.bool
  - blocks_1_attn_proj.weight: [512, 512] dtype=torch.float32
  - blocks_1_attn_proj.bias: [512] dtype=torch.float32
  - blocks_1_ln2.weight: [512] dtype=torch.float32
  - blocks_1_ln2.bias: [512] dtype=torch.float32
  - blocks_1_mlp_0.weight: [2048, 512] dtype=torch.float32
  - blocks_1_mlp_0.bias: [2048] dtype=torch.float32
  - blocks_1_mlp_2.weight: [512, 2048] dtype=torch.float32
  - blocks_1_mlp_2.bias: [512] dtype=torch.float32
  - blocks_2_ln1.weight: [512] dtype=torch.float32
  - blocks_2_ln1.bias: [512] dtype=torch.float32
  - blocks_2_attn_qkv.weight: [1536, 512] dtype=torch.float32
  - blocks_2_attn_qkv.bias: [1536] dtype=torch.float32
  - blocks_2_attn_causal_mask: [1, 1, 128, 128] dtype=torch.bool
  - blocks_2_attn_proj.weight: [512, 512] dtype=torch.float32
  - blocks_2_attn_proj.bias: [512] dtype=torch.float32
  - blocks_2_ln2.weight: [512] dtype=torch.float32
  - blocks_2_ln2.bias: [512] dtype=torch.float32
  - blocks_2_mlp_0.weight: [2048, 512] dtype=torch.float32
  - blocks_2_mlp_0.bias: [2048] dtype=torch.float32
  - blocks_2_mlp_2.weight: [512, 2048] dtype=torch.float32
  - blocks_2_mlp_2.bias: [512] dtype=torch.float32
  - blocks_3_ln1.weight: [512] dtype=torch.float32
  - blocks_3_ln1.bias: [512] dtype=torch.float32
  - blocks_3_attn_qkv.weight: [1536, 512] dtype=torch.float32
  - blocks_3_attn_qkv.bias: [1536] dtype=torch.float32
  - blocks_3_attn_causal_mask: [1, 1, 128, 128] dtype=torch.bool
  - blocks_3_attn_proj.weight: [512, 512] dtype=torch.float32
  - blocks_3_attn_proj.bias: [512] dtype=torch.float32
  - blocks_3_ln2.weight: [512] dtype=torch.float32
  - blocks_3_ln2.bias: [512] dtype=torch.float32
  - blocks_3_mlp_0.weight: [2048, 512] dtype=torch.float32
  - blocks_3_mlp_0.bias: [2048] dtype=torch.float32
  - blocks_3_mlp_2.weight: [512, 2048] dtype=torch.float32
  - blocks_3_mlp_2.bias: [512] dtype=torch.float32
  - ln_f.weight: [512] dtype=torch.float32
  - ln_f.bias: [512] dtype=torch.float32
  - lm_head.weight: [8192, 512] dtype=torch.float32
"""

"""A small GPT-style decoder-only transformer language model."""
import math

import torch
import torch.nn as nn

vocab_size = 8192
d_model = 512
n_heads = 8
n_layers = 4
seq_len = 128
batch_size = 4


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with a fused qkv projection."""

    def __init__(self, d_model, n_heads, max_len):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        mask = torch.tril(torch.ones(max_len, max_len, dtype=torch.bool))
        self.register_buffer("causal_mask", mask.view(1, 1, max_len, max_len))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        # [b, t, c] -> [b, heads, t, head_dim]
        q = q.reshape(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.reshape(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        v = v.reshape(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        scores = scores.masked_fill(~self.causal_mask[:, :, :t, :t], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        out = torch.matmul(weights, v)
        out = out.transpose(1, 2).reshape(b, t, c)
        return self.proj(out)


class Block(nn.Module):
    """Pre-norm transformer block: attention and MLP, each with a residual."""

    def __init__(self, d_model, n_heads, max_len):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads, max_len)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model),
            nn.GELU(),
            nn.Linear(4 * d_model, d_model),
        )

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        x = x + self.mlp(self.ln2(x))
        return x


class Model(nn.Module):
    def __init__(self, vocab_size=vocab_size, d_model=d_model, n_heads=n_heads,
                 n_layers=n_layers, max_len=seq_len):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)
        self.blocks = nn.ModuleList(
            [Block(d_model, n_heads, max_len) for _ in range(n_layers)]
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb[:, :t, :]
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        return self.lm_head(x)


def get_inputs():
    return [torch.randint(0, vocab_size, (batch_size, seq_len), dtype=torch.int64)]


def get_init_inputs():
    return [vocab_size, d_model, n_heads, n_layers, seq_len]


def get_expected_output_shape():
    return [(4, 128, 8192)]


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
