"""
Component: mlp_block
Source: data/examples/mlp_block.py
Abstraction Level: fusion
Parent: root
Children: ['layer_norm_768_fp32', 'linear_768x3072_fp32', 'gelu_fp32', 'linear_3072x768_fp32']
Instances: 1

Operations: ['layer_norm', 'linear', 'gelu', 'linear']

Input Shapes:
  - x: [16, 128, 768] dtype=torch.float32

Output Shapes:
  - output: [16, 128, 768] dtype=torch.float32

Weight Shapes:
  - norm.weight: [768] dtype=torch.float32
  - norm.bias: [768] dtype=torch.float32
  - fc1.weight: [3072, 768] dtype=torch.float32
  - fc1.bias: [3072] dtype=torch.float32
  - fc2.weight: [768, 3072] dtype=torch.float32
  - fc2.bias: [768] dtype=torch.float32
"""

"""A transformer-style MLP block: LayerNorm, Linear, GELU, Linear, plus a residual."""
import torch
import torch.nn as nn

batch_size = 16
seq_len = 128
d_model = 768
d_hidden = 3072


class Model(nn.Module):
    def __init__(self, d_model=d_model, d_hidden=d_hidden):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(d_hidden, d_model)

    def forward(self, x):
        h = self.fc2(self.act(self.fc1(self.norm(x))))
        return x + h


def get_inputs():
    return [torch.randn(batch_size, seq_len, d_model)]


def get_init_inputs():
    return [d_model, d_hidden]


def get_expected_output_shape():
    return [(16, 128, 768)]


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
