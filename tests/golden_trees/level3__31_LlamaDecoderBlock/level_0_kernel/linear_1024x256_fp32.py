"""
Component: linear_1024x256_fp32
Source: data/level3/31_LlamaDecoderBlock.py
Abstraction Level: kernel
Parent: qkv_projection_1024x1024_fp32
Children: []
Instances: 2

Operations: ['linear']

Input Shapes:
  - x: [4, 256, 1024] dtype=torch.float32

Output Shapes:
  - output: [4, 256, 256] dtype=torch.float32

Weight Shapes:
  - linear.weight: [256, 1024] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(in_features=1024, out_features=256, bias=False)

    def forward(self, x):
        linear = self.linear(x)
        return linear


def get_inputs():
    return [torch.randn((4, 256, 1024), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(4, 256, 256)]


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
