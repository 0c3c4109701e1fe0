"""
Component: block_256_fp32
Source: data/level3/35_TiedEmbeddingLM.py
Abstraction Level: layer
Parent: 35_TiedEmbeddingLM
Children: ['layer_norm_256_fp32', 'linear_256x768_fp32', 'scaled_dot_product_attention_4x4x128x64_4x4x128x64_4x4x128x64_fp32', 'linear_256x256_fp32', 'layer_norm_256_fp32', 'linear_gelu_256x1024_fp32', 'linear_1024x256_fp32']
Instances: 2

Operations: ['layer_norm', 'linear', 'scaled_dot_product_attention', 'linear', 'layer_norm', 'linear', 'gelu', 'linear']

Input Shapes:
  - x: [4, 128, 256] dtype=torch.float32

Output Shapes:
  - output: [4, 128, 256] dtype=torch.float32

Weight Shapes:
  - ln1.weight: [256] dtype=torch.float32
  - ln1.bias: [256] dtype=torch.float32
  - qkv.weight: [768, 256] dtype=torch.float32
  - qkv.bias: [768] dtype=torch.float32
  - proj.weight: [256, 256] dtype=torch.float32
  - proj.bias: [256] dtype=torch.float32
  - ln2.weight: [256] dtype=torch.float32
  - ln2.bias: [256] dtype=torch.float32
  - fc1.weight: [1024, 256] dtype=torch.float32
  - fc1.bias: [1024] dtype=torch.float32
  - fc2.weight: [256, 1024] dtype=torch.float32
  - fc2.bias: [256] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm((256,), eps=1e-05, elementwise_affine=True, bias=True)
        self.qkv = nn.Linear(in_features=256, out_features=768, bias=True)
        self.proj = nn.Linear(in_features=256, out_features=256, bias=True)
        self.ln2 = nn.LayerNorm((256,), eps=1e-05, elementwise_affine=True, bias=True)
        self.fc1 = nn.Linear(in_features=256, out_features=1024, bias=True)
        self.fc2 = nn.Linear(in_features=1024, out_features=256, bias=True)

    def forward(self, x):
        layer_norm = self.ln1(x)
        linear = self.qkv(layer_norm)
        split = torch.split(linear, 256, dim=-1)
        getitem = split[0]
        getitem_1 = split[1]
        getitem_2 = split[2]
        view = getitem.view([4, 128, 4, 64])
        transpose = view.transpose(1, 2)
        view_1 = getitem_1.view([4, 128, 4, 64])
        transpose_1 = view_1.transpose(1, 2)
        view_2 = getitem_2.view([4, 128, 4, 64])
        transpose_2 = view_2.transpose(1, 2)
        scaled_dot_product_attention = F.scaled_dot_product_attention(transpose, transpose_1, transpose_2, is_causal=True)
        transpose_3 = scaled_dot_product_attention.transpose(1, 2)
        reshape = transpose_3.reshape([4, 128, 256])
        linear_1 = self.proj(reshape)
        add = x.add_(linear_1)
        layer_norm_1 = self.ln2(add)
        linear_2 = self.fc1(layer_norm_1)
        gelu = F.gelu(linear_2)
        linear_3 = self.fc2(gelu)
        add_1 = add.add_(linear_3)
        return add_1


def get_inputs():
    return [torch.randn((4, 128, 256), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(4, 128, 256)]


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
