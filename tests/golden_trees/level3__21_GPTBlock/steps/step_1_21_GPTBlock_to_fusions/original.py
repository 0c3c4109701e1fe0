"""
Component: 21_GPTBlock
Source: data/level3/21_GPTBlock.py
Abstraction Level: layer
Parent: root
Children: ['layer_norm_768_fp32', 'linear_768x2304_fp32', 'attention_8x12x512x64_8x12x64x512_fp32', 'linear_768x768_fp32', 'layer_norm_768_fp32', 'linear_new_gelu_768x3072_fp32', 'linear_3072x768_fp32']
Instances: 1

Operations: ['layer_norm', 'linear', 'matmul', 'masked_fill', 'softmax', 'matmul', 'linear', 'layer_norm', 'linear', 'new_gelu', 'linear']

Input Shapes:
  - x: [8, 512, 768] dtype=torch.float32

Output Shapes:
  - output: [8, 512, 768] dtype=torch.float32

Weight Shapes:
  - ln_1.weight: [768] dtype=torch.float32
  - ln_1.bias: [768] dtype=torch.float32
  - attn_c_attn.weight: [2304, 768] dtype=torch.float32
  - attn_c_attn.bias: [2304] dtype=torch.float32
  - attn_bias: [1, 1, 512, 512] dtype=torch.float32
  - attn_c_proj.weight: [768, 768] dtype=torch.float32
  - attn_c_proj.bias: [768] dtype=torch.float32
  - ln_2.weight: [768] dtype=torch.float32
  - ln_2.bias: [768] dtype=torch.float32
  - mlp_c_fc.weight: [3072, 768] dtype=torch.float32
  - mlp_c_fc.bias: [3072] dtype=torch.float32
  - mlp_c_proj.weight: [768, 3072] dtype=torch.float32
  - mlp_c_proj.bias: [768] dtype=torch.float32
"""

"""A GPT-2 transformer block: LayerNorm, causal attention, LayerNorm, MLP with tanh-approximate GELU."""
import math

import torch
import torch.nn as nn

batch_size = 8
max_seqlen = 512
seq_len = 512
n_embd = 768
n_head = 12


class NewGELU(nn.Module):
    """GELU, tanh approximation, spelled out as in the original GPT-2 code."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, max_seqlen):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head = n_head
        self.n_embd = n_embd
        mask = torch.tril(torch.ones(max_seqlen, max_seqlen))
        self.register_buffer("bias", mask.view(1, 1, max_seqlen, max_seqlen))

    def forward(self, x):
        b, t, c = x.size()
        hd = c // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(b, t, self.n_head, hd).transpose(1, 2)
        k = k.view(b, t, self.n_head, hd).transpose(1, 2)
        v = v.view(b, t, self.n_head, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)


class Model(nn.Module):
    def __init__(self, n_embd, n_head, max_seqlen):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, max_seqlen)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc=nn.Linear(n_embd, 4 * n_embd),
            c_proj=nn.Linear(4 * n_embd, n_embd),
            act=NewGELU(),
        ))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        m = self.mlp
        return x + m["c_proj"](m["act"](m["c_fc"](self.ln_2(x))))


def get_inputs():
    return [torch.randn(batch_size, seq_len, n_embd)]


def get_init_inputs():
    return [n_embd, n_head, max_seqlen]


def get_expected_output_shape():
    return [(8, 512, 768)]


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
