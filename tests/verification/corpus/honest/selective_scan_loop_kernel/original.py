"""
Component: scan_small
Source: data/level3/43_MambaSelectiveScanLoop.py (seq_len 32, d_model 16)
Abstraction Level: layer
Parent: root
Children: ['linear_16x64_fp32', 'conv1d_silu_1x32_4_fp32', 'linear_32x40_fp32', 'linear_8x32_fp32', 'selective_scan_32x16_fp32', 'linear_32x16_fp32']
Instances: 1

Operations: ['linear', 'conv1d', 'silu', 'linear', 'linear', 'selective_scan', 'linear']

Input Shapes:
  - x: [2, 32, 16] dtype=torch.float32

Output Shapes:
  - output: [2, 32, 16] dtype=torch.float32

Weight Shapes:
  - in_proj.weight: [64, 16] dtype=torch.float32
  - conv1d.weight: [32, 1, 4] dtype=torch.float32
  - conv1d.bias: [32] dtype=torch.float32
  - x_proj.weight: [40, 32] dtype=torch.float32
  - dt_proj.weight: [32, 8] dtype=torch.float32
  - dt_proj.bias: [32] dtype=torch.float32
  - A_log: [32, 16] dtype=torch.float32
  - D: [32] dtype=torch.float32
  - out_proj.weight: [16, 32] dtype=torch.float32
"""

"""A Mamba (S6) block whose selective scan is a Python loop over time, as transformers' CPU path
writes it: in-projection, causal depthwise conv, input-dependent dt/B/C, the scan step by step,
gated out-projection.

At sequence 2048 the loop is 2048 x 5 ops per block; tracing it op by op did not finish
(issue 13). The scan is one kernel now: the function below, traced once.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 2
seq_len = 32
d_model = 16
d_state = 16
expand = 2
d_conv = 4
dt_rank = 8


def selective_scan(u, delta, A, B, C, D, z, use_cuda_kernel=False):
    """u, delta, z: (batch, d_inner, seq); A: (d_inner, d_state); B, C: (batch, d_state, seq)."""
    if use_cuda_kernel:  # a fused kernel elsewhere; never taken on this path
        raise RuntimeError("no CUDA kernel in this file")
    batch, d_inner, length = u.shape
    delta = F.softplus(delta)
    deltaA = torch.exp(delta.unsqueeze(-1) * A[None, :, None, :])        # (b, d, l, n)
    deltaB_u = delta.unsqueeze(-1) * B.transpose(1, 2)[:, None] * u.unsqueeze(-1)
    state = torch.zeros(batch, d_inner, A.shape[-1], device=u.device, dtype=u.dtype)
    ys = []
    for t in range(length):
        state = deltaA[:, :, t] * state + deltaB_u[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", state, C[:, :, t]))
    y = torch.stack(ys, dim=-1)
    return (y + u * D[None, :, None]) * F.silu(z)


class Model(nn.Module):
    def __init__(self, d_model, d_state, expand, d_conv, dt_rank):
        super().__init__()
        d_inner = expand * d_model
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1).float()).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self.dt_rank, self.d_state = dt_rank, d_state

    def forward(self, x):
        length = x.shape[1]
        u, z = self.in_proj(x).transpose(1, 2).chunk(2, dim=1)
        u = F.silu(self.conv1d(u)[..., :length])
        dt, B, C = torch.split(self.x_proj(u.transpose(1, 2)),
                               [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = self.dt_proj(dt).transpose(1, 2)
        y = selective_scan(u, delta, -torch.exp(self.A_log), B.transpose(1, 2),
                           C.transpose(1, 2), self.D, z)
        return self.out_proj(y.transpose(1, 2))


def get_inputs():
    return [torch.randn(batch_size, seq_len, d_model)]


def get_init_inputs():
    return [d_model, d_state, expand, d_conv, dt_rank]


def get_expected_output_shape():
    return [(2, 32, 16)]


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
