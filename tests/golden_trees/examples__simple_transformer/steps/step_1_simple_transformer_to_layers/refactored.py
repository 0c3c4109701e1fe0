"""Step step_1_simple_transformer_to_layers: simple_transformer rewritten as calls of its 6 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from block_512_fp32 import Model as Block512Fp32
from embedding_add_8192x512_i64_fp32 import Model as EmbeddingAdd8192x512I64Fp32
from layer_norm_linear_512_fp32 import Model as LayerNormLinear512Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding_add = EmbeddingAdd8192x512I64Fp32()
        self.blocks_0 = Block512Fp32()
        self.blocks_1 = Block512Fp32()
        self.blocks_2 = Block512Fp32()
        self.blocks_3 = Block512Fp32()
        self.layer_norm_linear = LayerNormLinear512Fp32()

    def forward(self, idx):
        add = self.embedding_add(idx)
        add_1 = self.blocks_0(add)
        add_2 = self.blocks_1(add_1)
        add_3 = self.blocks_2(add_2)
        add_4 = self.blocks_3(add_3)
        linear = self.layer_norm_linear(add_4)
        return linear


def get_inputs():
    return [torch.randint(0, 8192, (4, 128), dtype=torch.int64)]


def get_init_inputs():
    return []
