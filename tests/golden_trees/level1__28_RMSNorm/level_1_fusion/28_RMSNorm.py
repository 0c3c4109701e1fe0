"""
Component: 28_RMSNorm
Source: data/level1/28_RMSNorm.py
Abstraction Level: fusion
Parent: root
Children: ['mul_fp32', 'mean_16x512x1024_fp32', 'sqrt_fp32', 'div_fp32', 'mul_1024_fp32']
Instances: 1

Operations: ['mul', 'mean', 'sqrt', 'div', 'mul']

Input Shapes:
  - x: [16, 512, 1024] dtype=torch.float32

Output Shapes:
  - output: [16, 512, 1024] dtype=torch.float32

Weight Shapes:
  - weight: [1024] dtype=torch.float32
"""

"""RMS normalization written by hand: x / sqrt(mean(x^2) + eps) * weight."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 512
hidden = 1024


class Model(nn.Module):
    def __init__(self, hidden, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden))

    def forward(self, x):
        rms = torch.sqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.eps)
        return x / rms * self.weight


def get_inputs():
    return [torch.randn(batch_size, seq_len, hidden)]


def get_init_inputs():
    return [hidden]


def get_expected_output_shape():
    return [(16, 512, 1024)]


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
