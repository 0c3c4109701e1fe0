"""
Component: masked_fill_1x1x512x512_fp32
Source: data/level3/21_GPTBlock.py
Abstraction Level: kernel
Parent: attention_8x12x512x64_8x12x64x512_fp32
Children: []
Instances: 1

Operations: ['masked_fill']

Input Shapes:
  - x: [8, 12, 512, 512] dtype=torch.float32

Output Shapes:
  - output: [8, 12, 512, 512] dtype=torch.float32

Weight Shapes:
  - bias: [1, 1, 512, 512] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("bias", torch.randn((1, 1, 512, 512), dtype=torch.float32), persistent=True)

    def forward(self, x):
        eq = self.bias == 0
        masked_fill = x.masked_fill(eq, -float("inf"))
        return masked_fill


def get_inputs():
    return [torch.randn((8, 12, 512, 512), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(8, 12, 512, 512)]


# Masking with -inf (attention masks) makes infinities a correct output.
ALLOW_INF = True


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
