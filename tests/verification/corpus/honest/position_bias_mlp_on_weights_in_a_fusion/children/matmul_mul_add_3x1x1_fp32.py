"""
Component: matmul_mul_add_3x1x1_fp32
Source: data/level3/42_SwinV2Block.py
Abstraction Level: fusion
Parent: window_attention_96x288_fp32
Children: ['matmul_32x3x49x32_32x3x32x49_fp32', 'mul_3x1x1_fp32', 'add_512x2_fp32', 'add_16x49x49_fp32']
Instances: 1

Operations: ['matmul', 'mul', 'add', 'add']

Input Shapes:
  - x0: [32, 3, 49, 32] dtype=torch.float32
  - x1: [32, 3, 32, 49] dtype=torch.float32

Output Shapes:
  - output: [2, 16, 3, 49, 49] dtype=torch.float32

Weight Shapes:
  - logit_scale: [3, 1, 1] dtype=torch.float32
  - relative_coords_table: [1, 13, 13, 2] dtype=torch.float32
  - weight: [512, 2] dtype=torch.float32
  - bias: [512] dtype=torch.float32
  - weight_1: [3, 512] dtype=torch.float32
  - relative_position_index: [49, 49] dtype=torch.int64
  - attn_mask: [16, 49, 49] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from pathlib import Path

_BUFFERS = torch.load(Path(__file__).with_suffix('.buffers.pt'), weights_only=True)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.randn((3, 1, 1), dtype=torch.float32))
        self.register_buffer("relative_coords_table", _BUFFERS["relative_coords_table"].clone(), persistent=False)
        self.weight = nn.Parameter(torch.randn((512, 2), dtype=torch.float32) * 0.41)
        self.bias = nn.Parameter(torch.randn((512,), dtype=torch.float32) * 0.41)
        self.weight_1 = nn.Parameter(torch.randn((3, 512), dtype=torch.float32) * 0.026)
        self.register_buffer("relative_position_index", _BUFFERS["relative_position_index"].clone(), persistent=False)
        self.register_buffer("attn_mask", _BUFFERS["attn_mask"].clone(), persistent=True)

    def forward(self, x0, x1):
        matmul = torch.matmul(x0, x1)
        clamp = torch.clamp(self.logit_scale, max=4.605170185988092)
        exp = torch.exp(clamp)
        mul = matmul * exp
        linear = F.linear(self.relative_coords_table, self.weight, self.bias)
        relu = linear.relu_()
        linear_1 = F.linear(relu, self.weight_1)
        view = linear_1.view([-1, 3])
        view_1 = self.relative_position_index.view([-1])
        index = view[view_1]
        view_2 = index.view([49, 49, -1])
        permute = view_2.permute([2, 0, 1])
        sigmoid = torch.sigmoid(permute)
        unsqueeze = sigmoid.unsqueeze(0)
        mul_1 = unsqueeze * 16
        add = mul + mul_1
        view_3 = add.view([2, 16, 3, 49, 49])
        unsqueeze_1 = self.attn_mask.unsqueeze(0)
        unsqueeze_2 = unsqueeze_1.unsqueeze(2)
        add_1 = view_3 + unsqueeze_2
        return add_1


def get_inputs():
    return [torch.randn((32, 3, 49, 32), dtype=torch.float32), torch.randn((32, 3, 32, 49), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(2, 16, 3, 49, 49)]


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
