"""ViT encoder (patch embedding, CLS token), last hidden state.

A tiny configuration (a few MB): the architecture's code path at test size. Built from the config
alone, no download.
"""
import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.ViTConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            image_size=32,
            patch_size=8,
        )
        self.model = transformers.ViTModel(config)

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).last_hidden_state


def get_inputs():
    return [torch.randn(2, 3, 32, 32)]


def get_init_inputs():
    return []
