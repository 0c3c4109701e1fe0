"""gpt-oss decoder (MoE: biased, clamped SwiGLU experts; attention sinks; sliding window), logits.

A tiny configuration (a few MB) built from the config alone, no download. The context length is
the published one, so that the YaRN RoPE scaling factor agrees with it (rotary tables are computed
per position, nothing is allocated for the whole context).
"""
import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.GptOssConfig(
            vocab_size=128,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            intermediate_size=64,
            max_position_embeddings=131072,
            num_local_experts=4,
            num_experts_per_tok=2,
            sliding_window=8,
        )
        self.model = transformers.GptOssForCausalLM(config)

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


def get_inputs():
    return [torch.randint(0, 128, (2, 16))]


def get_init_inputs():
    return []
