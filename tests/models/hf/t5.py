"""T5 encoder-decoder (relative position bias), decoder's last hidden state.

A tiny configuration (a few MB): the architecture's code path at test size. Built from the config
alone, no download.
"""
import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.T5Config(
            vocab_size=128,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
        )
        self.model = transformers.T5Model(config)

    def forward(self, input_ids, decoder_input_ids):
        return self.model(input_ids=input_ids, decoder_input_ids=decoder_input_ids, use_cache=False).last_hidden_state


def get_inputs():
    return [torch.randint(0, 128, (2, 16)), torch.randint(0, 128, (2, 8))]


def get_init_inputs():
    return []
