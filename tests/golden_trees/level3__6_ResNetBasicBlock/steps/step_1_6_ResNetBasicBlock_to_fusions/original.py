"""
Component: 6_ResNetBasicBlock
Source: data/level3/6_ResNetBasicBlock.py
Abstraction Level: layer
Parent: root
Children: ['conv2d_batch_norm_64x128_1x1_fp32', 'conv2d_batch_norm_relu_64x128_3x3_fp32', 'conv2d_batch_norm_add_relu_128x128_3x3_fp32']
Instances: 1

Operations: ['conv2d', 'batch_norm', 'conv2d', 'batch_norm', 'relu', 'conv2d', 'batch_norm', 'relu']

Input Shapes:
  - x: [16, 64, 56, 56] dtype=torch.float32

Output Shapes:
  - output: [16, 128, 28, 28] dtype=torch.float32

Weight Shapes:
  - downsample_0.weight: [128, 64, 1, 1] dtype=torch.float32
  - downsample_1.weight: [128] dtype=torch.float32
  - downsample_1.bias: [128] dtype=torch.float32
  - downsample_1.running_mean: [128] dtype=torch.float32
  - downsample_1.running_var: [128] dtype=torch.float32
  - conv1.weight: [128, 64, 3, 3] dtype=torch.float32
  - bn1.weight: [128] dtype=torch.float32
  - bn1.bias: [128] dtype=torch.float32
  - bn1.running_mean: [128] dtype=torch.float32
  - bn1.running_var: [128] dtype=torch.float32
  - conv2.weight: [128, 128, 3, 3] dtype=torch.float32
  - bn2.weight: [128] dtype=torch.float32
  - bn2.bias: [128] dtype=torch.float32
  - bn2.running_mean: [128] dtype=torch.float32
  - bn2.running_var: [128] dtype=torch.float32
"""

"""A ResNet basic block with a 1x1-conv + BN downsample branch on the shortcut."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 64
out_channels = 128
stride = 2
height = 56
width = 56


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.downsample = nn.Identity()

    def forward(self, x):
        identity = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, stride]


def get_expected_output_shape():
    return [(16, 128, 28, 28)]


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
