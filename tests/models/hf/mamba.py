"""Mamba (selective scan, written as a loop over time without the CUDA kernels), logits.

A tiny configuration (a few MB): the architecture's code path at test size. Built from the config
alone, no download.
"""
import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.MambaConfig(
            vocab_size=128,
            hidden_size=32,
            state_size=8,
            num_hidden_layers=2,
            intermediate_size=64,
            conv_kernel=4,
            time_step_rank=4,
        )
        self.model = transformers.MambaForCausalLM(config)

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


def get_inputs():
    return [torch.randint(0, 128, (2, 16))]


def get_init_inputs():
    return []
