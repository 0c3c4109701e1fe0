"""Swin Transformer block: (shifted) window attention with a relative position bias table, then MLP."""
import torch
import torch.nn as nn

batch_size = 4
resolution = 56
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
        self.scale = self.head_dim ** -0.5
        ws = window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.randn((2 * ws - 1) * (2 * ws - 1), num_heads) * 0.02
        )
        # pairwise relative offsets inside a window, flattened into table indices
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
        coords = coords.flatten(1)                                # [2, ws*ws]
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        rel[:, :, 0] += ws - 1
        rel[:, :, 1] += ws - 1
        index = rel[:, :, 0] * (2 * ws - 1) + rel[:, :, 1]
        self.register_buffer("relative_position_index", index)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask):
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)             # [bw, heads, n, n]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        # mask: [num_windows, n, n], broadcast over the batch and heads
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
        x = self.norm1(x).view(b, h, w, c)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        windows = window_partition(x, self.window_size)
        windows = self.attn(windows, self.attn_mask)
        x = window_reverse(windows, self.window_size, h, w)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x = shortcut + x.reshape(b, length, c)
        return x + self.mlp(self.norm2(x))


def get_inputs():
    return [torch.randn(batch_size, resolution * resolution, dim)]


def get_init_inputs():
    return [dim, resolution, num_heads, window_size, shift_size, mlp_ratio]
