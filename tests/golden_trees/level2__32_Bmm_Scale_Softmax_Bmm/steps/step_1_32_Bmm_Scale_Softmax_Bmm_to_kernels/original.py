"""
Component: 32_Bmm_Scale_Softmax_Bmm
Source: data/level2/32_Bmm_Scale_Softmax_Bmm.py
Abstraction Level: fusion
Parent: root
Children: ['bmm_64x256x64_64x64x256_fp32', 'softmax_64x256x256_fp32', 'bmm_64x256x256_64x256x64_fp32']
Instances: 1

Operations: ['bmm', 'softmax', 'bmm']

Input Shapes:
  - q: [64, 256, 64] dtype=torch.float32
  - k: [64, 256, 64] dtype=torch.float32
  - v: [64, 256, 64] dtype=torch.float32

Output Shapes:
  - output: [64, 256, 64] dtype=torch.float32

Weight Shapes:
"""

"""Batched attention-like pattern: bmm, scale, softmax, bmm with a third input."""
import math

import torch
import torch.nn as nn

batch_size = 64
seq_len = 256
dim = 64


class Model(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, q, k, v):
        scores = torch.bmm(q, k.transpose(1, 2)) * self.scale
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights, v)


def get_inputs():
    shape = (batch_size, seq_len, dim)
    return [torch.randn(shape), torch.randn(shape), torch.randn(shape)]


def get_init_inputs():
    return [dim]


def get_expected_output_shape():
    return [(64, 256, 64)]


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
