"""
Component: softmax_4x8x128x128_fp32
Source: data/examples/simple_transformer.py
Abstraction Level: kernel
Parent: attention_4x8x128x64_4x8x64x128_fp32
Children: []
Instances: 4

Operations: ['softmax']

Input Shapes:
  - x: [4, 8, 128, 128] dtype=torch.float32

Output Shapes:
  - output: [4, 8, 128, 128] dtype=torch.float32

Weight Shapes:
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        softmax = F.softmax(x, dim=-1)
        return softmax


def get_inputs():
    return [torch.randn((4, 8, 128, 128), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(4, 8, 128, 128)]


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
