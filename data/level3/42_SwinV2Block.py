"""A Swin Transformer V2 block: shifted-window cosine attention with a learned temperature, a
continuous relative position bias (a small MLP over log-spaced offsets, computed in the
constructor as a buffer and squashed by 16 * sigmoid), and residual post-norm.

SwinV2 once ended lowering in an internal error (a broken `children_nest` invariant, issue 13);
this file reproduces that case.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 2
resolution = 28
dim = 96
num_heads = 3
window_size = 7
shift_size = 3
mlp_ratio = 4.0


def window_partition(x, ws):
    """[b, h, w, c] -> [b * num_windows, ws * ws, c]"""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)


def window_reverse(windows, ws, h, w):
    """[b * num_windows, ws * ws, c] -> [b, h, w, c]"""
    c = windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        ws = window_size
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(num_heads, 1, 1)))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        # log-spaced relative offsets in [-1, 1]^2 (what the MLP reads)
        rel = torch.arange(-(ws - 1), ws, dtype=torch.float32)
        table = torch.stack(torch.meshgrid(rel, rel, indexing="ij")).permute(1, 2, 0)
        table = table / (ws - 1) * 8
        table = torch.sign(table) * torch.log2(table.abs() + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table.unsqueeze(0), persistent=False)
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
        coords = coords.flatten(1)                                # [2, ws*ws]
        offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        offsets[:, :, 0] += ws - 1
        offsets[:, :, 1] += ws - 1
        index = offsets[:, :, 0] * (2 * ws - 1) + offsets[:, :, 1]
        self.register_buffer("relative_position_index", index, persistent=False)
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask):
        bw, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias)
        qkv = qkv.reshape(bw, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        # cosine attention with a per-head temperature capped at 100
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        scale = torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        attn = attn * scale
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        position = table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = attn + 16 * torch.sigmoid(position).unsqueeze(0)
        nw = mask.shape[0]
        attn = attn.view(bw // nw, nw, self.num_heads, n, n) + mask[None, :, None]
        attn = attn.view(bw, self.num_heads, n, n).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(bw, n, c)
        return self.proj(out)


class Model(nn.Module):
    def __init__(self, dim, resolution, num_heads, window_size, shift_size, mlp_ratio=4.0):
        super().__init__()
        self.resolution = resolution
        self.window_size = window_size
        self.shift_size = shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.register_buffer("attn_mask", self._build_mask(resolution, window_size, shift_size))

    @staticmethod
    def _build_mask(res, ws, shift):
        """Additive mask that stops tokens from different regions attending after the cyclic shift."""
        n_win = (res // ws) ** 2
        if shift == 0:
            return torch.zeros(n_win, ws * ws, ws * ws)
        region = torch.zeros(1, res, res, 1)
        bounds = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
        label = 0
        for hs in bounds:
            for wsl in bounds:
                region[:, hs, wsl, :] = label
                label += 1
        region_windows = window_partition(region, ws).squeeze(-1)  # [n_win, ws*ws]
        diff = region_windows[:, None, :] - region_windows[:, :, None]
        return diff.ne(0).float() * -100.0

    def forward(self, x):
        b, length, c = x.shape
        h = w = self.resolution
        shortcut = x
        x = x.view(b, h, w, c)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        windows = window_partition(x, self.window_size)
        windows = self.attn(windows, self.attn_mask)
        x = window_reverse(windows, self.window_size, h, w)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        # residual post-norm: the norm applies to each branch's output
        x = shortcut + self.norm1(x.reshape(b, length, c))
        return x + self.norm2(self.mlp(x))


def get_inputs():
    return [torch.randn(batch_size, resolution * resolution, dim)]


def get_init_inputs():
    return [dim, resolution, num_heads, window_size, shift_size, mlp_ratio]
