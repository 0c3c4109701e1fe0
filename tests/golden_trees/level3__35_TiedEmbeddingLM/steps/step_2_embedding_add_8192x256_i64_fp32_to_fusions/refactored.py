"""Step step_2_embedding_add_8192x256_i64_fp32_to_fusions: embedding_add_8192x256_i64_fp32 rewritten as calls of its 2 children plus data plumbing."""

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
from add_128x256_fp32 import Model as Add128x256Fp32
from embedding_8192x256_i64_fp32 import Model as Embedding8192x256I64Fp32


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = Embedding8192x256I64Fp32()
        self.add = Add128x256Fp32()

    def forward(self, x):
        embedding = self.tok(x)
        add = self.add(embedding)
        return add


def get_inputs():
    return [torch.randint(0, 8192, (4, 128), dtype=torch.int64)]


def get_init_inputs():
    return []
