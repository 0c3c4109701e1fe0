"""Step step_1_35_TiedEmbeddingLM_to_layers: 35_TiedEmbeddingLM rewritten as calls of its 4 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from block_256_fp32 import Model as Block256Fp32
from embedding_add_8192x256_i64_fp32 import Model as EmbeddingAdd8192x256I64Fp32
from layer_norm_linear_log_softmax_256_fp32 import Model as LayerNormLinearLogSoftmax256Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding_add = EmbeddingAdd8192x256I64Fp32()
        self.blocks_0 = Block256Fp32()
        self.blocks_1 = Block256Fp32()
        self.layer_norm_linear_log_softmax = LayerNormLinearLogSoftmax256Fp32()

    def forward(self, ids):
        add = self.embedding_add(ids)
        add_1 = self.blocks_0(add)
        add_2 = self.blocks_1(add_1)
        layer_norm, linear, log_softmax = self.layer_norm_linear_log_softmax(add_2)
        return (linear, (layer_norm, [log_softmax]))


def get_inputs():
    return [torch.randint(0, 8192, (4, 128), dtype=torch.int64)]


def get_init_inputs():
    return []
