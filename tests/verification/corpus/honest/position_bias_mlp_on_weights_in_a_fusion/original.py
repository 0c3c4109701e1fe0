"""
Component: window_attention_96x288_fp32
Source: data/level3/42_SwinV2Block.py
Abstraction Level: layer
Parent: 42_SwinV2Block
Children: ['linear_96x288_fp32', 'linalg_vector_norm_clamp_min_div_32x3x49x32_fp32', 'linalg_vector_norm_clamp_min_div_32x3x49x32_fp32', 'matmul_mul_add_3x1x1_fp32', 'softmax_32x3x49x49_fp32', 'matmul_32x3x49x49_32x3x49x32_fp32', 'linear_96x96_fp32']
Instances: 1

Operations: ['linear', 'linalg_vector_norm', 'clamp_min', 'div', 'linalg_vector_norm', 'clamp_min', 'div', 'matmul', 'mul', 'add', 'add', 'softmax', 'matmul', 'linear']

Input Shapes:
  - x: [32, 49, 96] dtype=torch.float32

Output Shapes:
  - output: [32, 49, 96] dtype=torch.float32

Weight Shapes:
  - v_bias: [96] dtype=torch.float32
  - q_bias: [96] dtype=torch.float32
  - qkv_weight: [288, 96] dtype=torch.float32
  - logit_scale: [3, 1, 1] dtype=torch.float32
  - relative_coords_table: [1, 13, 13, 2] dtype=torch.float32
  - cpb_mlp_0_weight: [512, 2] dtype=torch.float32
  - cpb_mlp_0_bias: [512] dtype=torch.float32
  - cpb_mlp_2_weight: [3, 512] dtype=torch.float32
  - relative_position_index: [49, 49] dtype=torch.int64
  - attn_mask: [16, 49, 49] dtype=torch.float32
  - proj.weight: [96, 96] dtype=torch.float32
  - proj.bias: [96] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from pathlib import Path

_BUFFERS = torch.load(Path(__file__).with_suffix('.buffers.pt'), weights_only=True)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(in_features=96, out_features=96, bias=True)
        self.v_bias = nn.Parameter(torch.randn((96,), dtype=torch.float32))
        self.q_bias = nn.Parameter(torch.randn((96,), dtype=torch.float32))
        self.qkv_weight = nn.Parameter(torch.randn((288, 96), dtype=torch.float32) * 0.059)
        self.logit_scale = nn.Parameter(torch.randn((3, 1, 1), dtype=torch.float32))
        self.register_buffer("relative_coords_table", _BUFFERS["relative_coords_table"].clone(), persistent=False)
        self.cpb_mlp_0_weight = nn.Parameter(torch.randn((512, 2), dtype=torch.float32) * 0.41)
        self.cpb_mlp_0_bias = nn.Parameter(torch.randn((512,), dtype=torch.float32) * 0.41)
        self.cpb_mlp_2_weight = nn.Parameter(torch.randn((3, 512), dtype=torch.float32) * 0.026)
        self.register_buffer("relative_position_index", _BUFFERS["relative_position_index"].clone(), persistent=False)
        self.register_buffer("attn_mask", _BUFFERS["attn_mask"].clone(), persistent=True)

    def forward(self, x):
        zeros_like = torch.zeros_like(self.v_bias)
        cat = torch.cat([self.q_bias, zeros_like, self.v_bias])
        linear = F.linear(x, self.qkv_weight, cat)
        reshape = linear.reshape([32, 49, 3, 3, 32])
        permute = reshape.permute([2, 0, 3, 1, 4])
        select = permute[0]
        select_1 = permute[1]
        select_2 = permute[2]
        linalg_vector_norm = torch.linalg.vector_norm(select, dim=[-1], keepdim=True)
        clamp_min = torch.clamp_min(linalg_vector_norm, 1e-12)
        expand_as = clamp_min.expand_as(select)
        div = select / expand_as
        linalg_vector_norm_1 = torch.linalg.vector_norm(select_1, dim=[-1], keepdim=True)
        clamp_min_1 = torch.clamp_min(linalg_vector_norm_1, 1e-12)
        expand_as_1 = clamp_min_1.expand_as(select_1)
        div_1 = select_1 / expand_as_1
        transpose = div_1.transpose(-2, -1)
        matmul = torch.matmul(div, transpose)
        clamp = torch.clamp(self.logit_scale, max=4.605170185988092)
        exp = torch.exp(clamp)
        mul = matmul * exp
        linear_1 = F.linear(self.relative_coords_table, self.cpb_mlp_0_weight, self.cpb_mlp_0_bias)
        relu = linear_1.relu_()
        linear_2 = F.linear(relu, self.cpb_mlp_2_weight)
        view = linear_2.view([-1, 3])
        view_1 = self.relative_position_index.view([-1])
        index = view[view_1]
        view_2 = index.view([49, 49, -1])
        permute_1 = view_2.permute([2, 0, 1])
        sigmoid = torch.sigmoid(permute_1)
        unsqueeze = sigmoid.unsqueeze(0)
        mul_1 = unsqueeze * 16
        add = mul + mul_1
        view_3 = add.view([2, 16, 3, 49, 49])
        unsqueeze_1 = self.attn_mask.unsqueeze(0)
        unsqueeze_2 = unsqueeze_1.unsqueeze(2)
        add_1 = view_3 + unsqueeze_2
        view_4 = add_1.view([32, 3, 49, 49])
        softmax = F.softmax(view_4, dim=-1)
        matmul_1 = torch.matmul(softmax, select_2)
        transpose_1 = matmul_1.transpose(1, 2)
        reshape_1 = transpose_1.reshape([32, 49, 96])
        linear_3 = self.proj(reshape_1)
        return linear_3


def get_inputs():
    return [torch.randn((32, 49, 96), dtype=torch.float32)]


def get_init_inputs():
    return []


def get_expected_output_shape():
    return [(32, 49, 96)]


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
