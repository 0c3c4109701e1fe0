"""A Mamba-2 style block that also returns its final SSM state (the state a decoder carries to the
next chunk of tokens): in-projection, causal depthwise conv, chunked SSD scan, gated output.

Returning the state as a second output once broke the tree of components in lowering (issue 13);
this file reproduces that case.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat

batch_size = 2
seq_len = 256
d_model = 256
d_state = 64
head_dim = 64
expand = 2
chunk_size = 64
d_conv = 4


def segsum(x):
    """Stable segment sum: out[..., i, j] = sum(x[..., j+1 : i+1]) for j <= i, -inf above the diagonal."""
    t = x.size(-1)
    x = repeat(x, "... d -> ... d e", e=t)
    strict_lower = torch.tril(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=-1)
    x = x.masked_fill(~strict_lower, 0.0)
    x_segsum = torch.cumsum(x, dim=-2)
    lower = torch.tril(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=0)
    return x_segsum.masked_fill(~lower, float("-inf"))


def ssd_chunked(x, a, b, c, chunk):
    """Structured state-space duality scan.

    x: [batch, length, heads, head_dim]   (already multiplied by dt)
    a: [batch, length, heads]             (A * dt, log decay per step)
    b, c: [batch, length, state]          (shared across heads)
    """
    x = rearrange(x, "b (c l) h p -> b c l h p", l=chunk)
    b = rearrange(b, "b (c l) n -> b c l n", l=chunk)
    c = rearrange(c, "b (c l) n -> b c l n", l=chunk)
    a = rearrange(a, "b (c l) h -> b h c l", l=chunk)
    a_cumsum = torch.cumsum(a, dim=-1)

    # 1. outputs within each chunk (quadratic, attention-like form)
    decay = torch.exp(segsum(a))                                          # [b h c l s]
    y_diag = torch.einsum("bcln,bcsn,bhcls,bcshp->bclhp", c, b, decay, x)

    # 2. state contributed by each chunk at its right boundary
    decay_states = torch.exp(a_cumsum[..., -1:] - a_cumsum)               # [b h c l]
    states = torch.einsum("bcln,bhcl,bclhp->bchpn", b, decay_states, x)

    # 3. pass states between chunks (a short recurrence, also in segsum form)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(segsum(F.pad(a_cumsum[..., -1], (1, 0))))     # [b h c+1 c+1]
    states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    final_state = states[:, -1]                                          # [b h p n]
    states = states[:, :-1]

    # 4. contribution of the incoming state to each position in the chunk
    state_decay_out = torch.exp(a_cumsum)
    y_off = torch.einsum("bcln,bchpn,bhcl->bclhp", c, states, state_decay_out)

    return rearrange(y_diag + y_off, "b c l h p -> b (c l) h p"), final_state


class Model(nn.Module):
    def __init__(self, d_model, d_state, head_dim, expand, chunk_size, d_conv):
        super().__init__()
        self.d_inner = expand * d_model
        self.n_heads = self.d_inner // head_dim
        self.head_dim = head_dim
        self.d_state = d_state
        self.chunk_size = chunk_size
        conv_dim = self.d_inner + 2 * d_state
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner + 2 * d_state + self.n_heads, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, padding=d_conv - 1)
        self.dt_bias = nn.Parameter(torch.linspace(-4.0, -2.0, self.n_heads))
        self.A_log = nn.Parameter(torch.log(torch.linspace(1.0, 16.0, self.n_heads)))
        self.D = nn.Parameter(torch.ones(self.n_heads))
        self.norm_weight = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, u):
        length = u.shape[1]
        z, xbc, dt = torch.split(
            self.in_proj(u), [self.d_inner, self.d_inner + 2 * self.d_state, self.n_heads], dim=-1
        )
        # causal depthwise conv over time: pad both sides, keep the first `length` outputs
        xbc = self.conv1d(xbc.transpose(1, 2))[..., :length].transpose(1, 2)
        xbc = F.silu(xbc)
        x, b, c = torch.split(xbc, [self.d_inner, self.d_state, self.d_state], dim=-1)

        dt = F.softplus(dt + self.dt_bias)                                  # [batch, len, heads]
        a = -torch.exp(self.A_log)                                          # [heads]
        x = rearrange(x, "b l (h p) -> b l h p", p=self.head_dim)
        y, final_state = ssd_chunked(x * dt.unsqueeze(-1), a * dt, b, c, self.chunk_size)
        y = y + x * self.D[:, None]
        y = rearrange(y, "b l h p -> b l (h p)")

        # gated RMSNorm
        y = y * F.silu(z)
        y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + 1e-5) * self.norm_weight
        return self.out_proj(y), final_state


def get_inputs():
    return [torch.randn(batch_size, seq_len, d_model)]


def get_init_inputs():
    return [d_model, d_state, head_dim, expand, chunk_size, d_conv]
