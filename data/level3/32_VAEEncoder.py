"""Convolutional VAE encoder returning a tuple (mu, logvar)."""
import torch
import torch.nn as nn

batch_size = 16
in_channels = 3
image_size = 64
latent_dim = 128


class Model(nn.Module):
    def __init__(self, in_channels, image_size, latent_dim):
        super().__init__()
        widths = [32, 64, 128, 256]
        layers = []
        prev = in_channels
        for w in widths:
            layers += [
                nn.Conv2d(prev, w, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(w),
                nn.LeakyReLU(0.2),
            ]
            prev = w
        self.encoder = nn.Sequential(*layers)
        flat = prev * (image_size // 16) ** 2
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)

    def forward(self, x):
        h = torch.flatten(self.encoder(x), 1)
        return self.fc_mu(h), self.fc_logvar(h)


def get_inputs():
    return [torch.randn(batch_size, in_channels, image_size, image_size)]


def get_init_inputs():
    return [in_channels, image_size, latent_dim]
