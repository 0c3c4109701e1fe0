"""Whisper encoder-decoder (conv front end on log-mel features), decoder's last hidden state.

A tiny configuration (a few MB): the architecture's code path at test size. Built from the config
alone, no download.
"""
import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.WhisperConfig(
            vocab_size=128,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            num_mel_bins=16,
            max_source_positions=32,
            max_target_positions=32,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=1,
        )
        self.model = transformers.WhisperModel(config)

    def forward(self, input_features, decoder_input_ids):
        return self.model(input_features=input_features, decoder_input_ids=decoder_input_ids, use_cache=False).last_hidden_state


def get_inputs():
    return [torch.randn(2, 16, 64), torch.randint(0, 128, (2, 8))]


def get_init_inputs():
    return []
