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
seq_len = 2048
d_model = 128
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
