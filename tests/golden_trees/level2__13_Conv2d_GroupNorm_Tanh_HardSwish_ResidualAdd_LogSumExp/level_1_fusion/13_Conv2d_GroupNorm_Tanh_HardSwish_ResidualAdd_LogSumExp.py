"""
Component: 13_Conv2d_GroupNorm_Tanh_HardSwish_ResidualAdd_LogSumExp
Source: data/level2/13_Conv2d_GroupNorm_Tanh_HardSwish_ResidualAdd_LogSumExp.py
Abstraction Level: fusion
Parent: root
Children: ['conv2d_16x64_3x3_fp32', 'group_norm_64_fp32', 'tanh_fp32', 'hardswish_fp32', 'logsumexp_16x64x62x62_fp32']
Instances: 1

Operations: ['conv2d', 'group_norm', 'tanh', 'hardswish', 'logsumexp']

Input Shapes:
  - x: [16, 16, 64, 64] dtype=torch.float32

Output Shapes:
  - output: [16, 1, 62, 62] dtype=torch.float32

Weight Shapes:
  - conv.weight: [64, 16, 3, 3] dtype=torch.float32
  - conv.bias: [64] dtype=torch.float32
  - group_norm.weight: [64] dtype=torch.float32
  - group_norm.bias: [64] dtype=torch.float32
"""

"""Conv2d, GroupNorm, tanh, HardSwish, residual add with the conv output, channel logsumexp."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 16
out_channels = 64
height = 64
width = 64
kernel_size = 3
groups = 8


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, groups, eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.group_norm = nn.GroupNorm(groups, out_channels, eps=eps)
        self.tanh = nn.Tanh()
        self.hard_swish = nn.Hardswish()

    def forward(self, x):
        x_conv = self.conv(x)
        x = self.group_norm(x_conv)
        x = self.tanh(x)
        x = self.hard_swish(x)
        x = x_conv + x
        return torch.logsumexp(x, dim=1, keepdim=True)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, groups]


def get_expected_output_shape():
    return [(16, 1, 62, 62)]


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
