"""An MLP whose forward() checks its input's values in Python before computing.

Data-dependent control flow: NaNs are replaced and out-of-range inputs rescaled only when
present, and the number of refinement passes depends on how many inputs are negative.
No meta-device trace can decide these branches; real inputs do.
"""
import torch
import torch.nn as nn

batch_size = 256
in_features = 1024
hidden = 2048
out_features = 512


class Model(nn.Module):
    def __init__(self, in_features, hidden, out_features, clip=1e4):
        super().__init__()
        self.clip = clip
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, out_features)

    def forward(self, x):
        if torch.isnan(x).any():
            x = torch.nan_to_num(x, nan=0.0)
        if x.abs().amax() > self.clip:
            x = x / x.abs().amax() * self.clip
        h = torch.relu(self.fc1(x))
        passes = 2 if bool((x < 0).any()) else 1
        for _ in range(passes):
            h = h + torch.relu(self.fc2(h))
        return self.fc3(h)


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, hidden, out_features]
