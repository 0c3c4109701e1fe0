"""
Component: attention_1024x1024_fp32
Source: data/level3/31_LlamaDecoderBlock.py
Abstraction Level: layer
Parent: 31_LlamaDecoderBlock
Children: ['qkv_projection_1024x1024_fp32', 'rotary_embedding_64_fp32_16x256x64', 'rotary_embedding_64_fp32_4x256x64', 'attention_4x16x256x64_4x16x64x256_fp32', 'linear_1024x1024_fp32']
Instances: 1

Operations: ['linear', 'linear', 'linear', 'rotary_embedding', 'rotary_embedding', 'matmul', 'add', 'softmax', 'matmul', 'linear']

Input Shapes:
  - x: [4, 256, 1024] dtype=torch.float32

Output Shapes:
  - output: [4, 256, 1024] dtype=torch.float32

Weight Shapes:
  - wq.weight: [1024, 1024] dtype=torch.float32
  - wk.weight: [256, 1024] dtype=torch.float32
  - wv.weight: [256, 1024] dtype=torch.float32
  - cos_cached: [256, 64] dtype=torch.float32
  - sin_cached: [256, 64] dtype=torch.float32
  - causal_mask: [256, 256] dtype=torch.float32
  - wo.weight: [1024, 1024] dtype=torch.float32
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.wq = nn.Linear(in_features=1024, out_features=1024, bias=False)
        self.wk = nn.Linear(in_features=1024, out_features=256, bias=False)
        self.wv = nn.Linear(in_features=1024, out_features=256, bias=False)
        self.wo = nn.Linear(in_features=1024, out_features=1024, bias=False)
        self.register_buffer("cos_cached", torch.randn((256, 64), dtype=torch.float32), persistent=True)
        self.register_buffer("sin_cached", torch.randn((256, 64), dtype=torch.float32), persistent=True)
        self.register_buffer("causal_mask", torch.randn((256, 256), dtype=torch.float32), persistent=True)

    def forward(self, x):
        linear = self.wq(x)
        view = linear.view([4, 256, 16, 64])
        transpose = view.transpose(1, 2)
        linear_1 = self.wk(x)
        view_1 = linear_1.view([4, 256, 4, 64])
        transpose_1 = view_1.transpose(1, 2)
        linear_2 = self.wv(x)
        view_2 = linear_2.view([4, 256, 4, 64])
        transpose_2 = view_2.transpose(1, 2)
        slice = self.cos_cached[:256]
        mul = transpose * slice
        chunk = torch.chunk(transpose, 2, dim=-1)
        getitem = chunk[0]
        getitem_1 = chunk[1]
        neg = -getitem_1
        cat = torch.cat([neg, getitem], dim=-1)
        slice_1 = self.sin_cached[:256]
        mul_1 = cat * slice_1
        add = mul + mul_1
        slice_2 = self.cos_cached[:256]
        mul_2 = transpose_1 * slice_2
        chunk_1 = torch.chunk(transpose_1, 2, dim=-1)
        getitem_2 = chunk_1[0]
        getitem_3 = chunk_1[1]
        neg_1 = -getitem_3
        cat_1 = torch.cat([neg_1, getitem_2], dim=-1)
        slice_3 = self.sin_cached[:256]
        mul_3 = cat_1 * slice_3
        add_1 = mul_2 + mul_3
        repeat_interleave = torch.repeat_interleave(add_1, 4, dim=1)
        repeat_interleave_1 = torch.repeat_interleave(transpose_2, 4, dim=1)
        transpose_3 = repeat_interleave.transpose(-2, -1)
        matmul = torch.matmul(add, transpose_3)
        div = matmul / 8.0
        add_2 = div + self.causal_mask
        to = add_2.to(torch.float32)
        softmax = F.softmax(to, dim=-1)
        type_as = softmax.type_as(add)
        matmul_1 = torch.matmul(type_as, repeat_interleave_1)
        transpose_4 = matmul_1.transpose(1, 2)
        reshape = transpose_4.reshape([4, 256, -1])
        linear_3 = self.wo(reshape)
        return linear_3


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
