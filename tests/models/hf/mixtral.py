"""Mixtral decoder (mixture of experts: 4 experts, top-2 routing, grouped matmuls), logits.

A tiny configuration (a few MB): the architecture's code path at test size. Built from the config
alone, no download.
"""
import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.MixtralConfig(
            vocab_size=128,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
            num_local_experts=4,
            num_experts_per_tok=2,
        )
        self.model = transformers.MixtralForCausalLM(config)

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


def get_inputs():
    return [torch.randint(0, 128, (2, 16))]


def get_init_inputs():
    return []
