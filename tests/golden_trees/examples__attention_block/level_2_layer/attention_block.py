"""
Component: attention_block
Source: data/examples/attention_block.py
Abstraction Level: layer
Parent: root
Children: ['qkv_projection_512x512_fp32', 'attention_8x8x256x64_8x8x64x256_fp32', 'linear_512x512_fp32']
Instances: 1

Operations: ['linear', 'linear', 'linear', 'matmul', 'softmax', 'matmul', 'linear']

Input Shapes:
  - x: [8, 256, 512] dtype=torch.float32

Output Shapes:
  - output: [8, 256, 512] dtype=torch.float32

Weight Shapes:
  - q_proj.weight: [512, 512] dtype=torch.float32
  - q_proj.bias: [512] dtype=torch.float32
  - k_proj.weight: [512, 512] dtype=torch.float32
  - k_proj.bias: [512] dtype=torch.float32
  - v_proj.weight: [512, 512] dtype=torch.float32
  - v_proj.bias: [512] dtype=torch.float32
  - out_proj.weight: [512, 512] dtype=torch.float32
  - out_proj.bias: [512] dtype=torch.float32
"""

"""A single multi-head self-attention block with hand-written scaled dot-product attention."""
import math

import torch
import torch.nn as nn

batch_size = 8
seq_len = 256
d_model = 512
n_heads = 8


class Model(nn.Module):
    def __init__(self, d_model=d_model, n_heads=n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _split_heads(self, t):
        b, s, _ = t.shape
        return t.view(b, s, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, s, d = x.shape
        q = self._split_heads(self.q_proj(x))
        k = self._split_heads(self.k_proj(x))
        v = self._split_heads(self.v_proj(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attn = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(attn, v)
        ctx = ctx.transpose(1, 2).contiguous().view(b, s, d)
        return self.out_proj(ctx)


def get_inputs():
    return [torch.randn(batch_size, seq_len, d_model)]


def get_init_inputs():
    return [d_model, n_heads]


def get_expected_output_shape():
    return [(8, 256, 512)]


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
