"""
Component: rms_norm_linear_silu_mul_1024_fp32
Source: data/level3/31_LlamaDecoderBlock.py
Abstraction Level: layer
Parent: 31_LlamaDecoderBlock
Children: ['rms_norm_1024_fp32', 'swiglu_1024x2816_fp32', 'linear_2816x1024_fp32']
Instances: 1

Operations: ['rms_norm', 'linear', 'silu', 'linear', 'mul', 'linear']

Input Shapes:
  - x: [4, 256, 1024] dtype=torch.float32

Output Shapes:
  - output: [4, 256, 1024] dtype=torch.float32

Weight Shapes:
  - weight: [1024] dtype=torch.float32
  - linear.weight: [2816, 1024] dtype=torch.float32
  - linear_1.weight: [2816, 1024] dtype=torch.float32
  - linear_2.weight: [1024, 2816] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(in_features=1024, out_features=2816, bias=False)
        self.linear_1 = nn.Linear(in_features=1024, out_features=2816, bias=False)
        self.linear_2 = nn.Linear(in_features=2816, out_features=1024, bias=False)
        self.weight = nn.Parameter(torch.randn((1024,), dtype=torch.float32))

    def forward(self, x):
        pow = torch.pow(x, 2)
        mean = torch.mean(pow, dim=[-1], keepdim=True)
        add = mean + 1e-06
        rsqrt = torch.rsqrt(add)
        mul = x * rsqrt
        mul_1 = mul * self.weight
        linear = self.linear(mul_1)
        silu = F.silu(linear)
        linear_1 = self.linear_1(mul_1)
        mul_2 = silu * linear_1
        linear_2 = self.linear_2(mul_2)
        return linear_2


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(4, 256, 1024)]


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
