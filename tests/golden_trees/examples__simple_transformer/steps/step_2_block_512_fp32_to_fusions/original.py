"""
Component: block_512_fp32
Source: data/examples/simple_transformer.py
Abstraction Level: layer
Parent: simple_transformer
Children: ['layer_norm_512_fp32', 'linear_512x1536_fp32', 'attention_4x8x128x64_4x8x64x128_fp32', 'linear_512x512_fp32', 'layer_norm_512_fp32', 'linear_gelu_512x2048_fp32', 'linear_2048x512_fp32']
Instances: 4

Operations: ['layer_norm', 'linear', 'matmul', 'masked_fill', 'softmax', 'matmul', 'linear', 'layer_norm', 'linear', 'gelu', 'linear']

Input Shapes:
  - x: [4, 128, 512] dtype=torch.float32

Output Shapes:
  - output: [4, 128, 512] dtype=torch.float32

Weight Shapes:
  - ln1.weight: [512] dtype=torch.float32
  - ln1.bias: [512] dtype=torch.float32
  - attn_qkv.weight: [1536, 512] dtype=torch.float32
  - attn_qkv.bias: [1536] dtype=torch.float32
  - attn_causal_mask: [1, 1, 128, 128] dtype=torch.bool
  - attn_proj.weight: [512, 512] dtype=torch.float32
  - attn_proj.bias: [512] dtype=torch.float32
  - ln2.weight: [512] dtype=torch.float32
  - ln2.bias: [512] dtype=torch.float32
  - mlp_0.weight: [2048, 512] dtype=torch.float32
  - mlp_0.bias: [2048] dtype=torch.float32
  - mlp_2.weight: [512, 2048] dtype=torch.float32
  - mlp_2.bias: [512] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm((512,), eps=1e-05, elementwise_affine=True, bias=True)
        self.attn_qkv = nn.Linear(in_features=512, out_features=1536, bias=True)
        self.attn_proj = nn.Linear(in_features=512, out_features=512, bias=True)
        self.ln2 = nn.LayerNorm((512,), eps=1e-05, elementwise_affine=True, bias=True)
        self.mlp_0 = nn.Linear(in_features=512, out_features=2048, bias=True)
        self.mlp_1 = nn.GELU(approximate='none')
        self.mlp_2 = nn.Linear(in_features=2048, out_features=512, bias=True)
        self.register_buffer("attn_causal_mask", torch.zeros((1, 1, 128, 128), dtype=torch.bool), persistent=True)

    def forward(self, x):
        layer_norm = self.ln1(x)
        linear = self.attn_qkv(layer_norm)
        split = torch.split(linear, 512, dim=2)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        reshape = getitem.reshape([4, 128, 8, 64])
        transpose = reshape.transpose(1, 2)
        reshape_1 = getitem_1.reshape([4, 128, 8, 64])
        transpose_1 = reshape_1.transpose(1, 2)
        reshape_2 = getitem_2.reshape([4, 128, 8, 64])
        transpose_2 = reshape_2.transpose(1, 2)
        transpose_3 = transpose_1.transpose(-2, -1)
        matmul = torch.matmul(transpose, transpose_3)
        mul = matmul * 0.125
        bitwise_not = torch.bitwise_not(self.attn_causal_mask)
        masked_fill = mul.masked_fill(bitwise_not, -float("inf"))
        softmax = F.softmax(masked_fill, dim=-1)
        matmul_1 = torch.matmul(softmax, transpose_2)
        transpose_4 = matmul_1.transpose(1, 2)
        reshape_3 = transpose_4.reshape([4, 128, 512])
        linear_1 = self.attn_proj(reshape_3)
        add = x + linear_1
        layer_norm_1 = self.ln2(add)
        linear_2 = self.mlp_0(layer_norm_1)
        gelu = self.mlp_1(linear_2)
        linear_3 = self.mlp_2(gelu)
        add_1 = add + linear_3
        return add_1


def get_inputs():
    return [torch.randn((4, 128, 512), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(4, 128, 512)]


# Masking with -inf (attention masks) makes infinities a correct output.
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
