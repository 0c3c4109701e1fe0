"""
Component: 35_TiedEmbeddingLM
Source: data/level3/35_TiedEmbeddingLM.py
Abstraction Level: model
Parent: root
Children: ['embedding_add_8192x256_i64_fp32', 'block_256_fp32', 'block_256_fp32', 'layer_norm_linear_log_softmax_256_fp32']
Instances: 1

Operations: ['embedding', 'add', 'layer_norm', 'linear', 'scaled_dot_product_attention', 'linear', 'layer_norm', 'linear', 'gelu', 'linear', 'layer_norm', 'linear', 'scaled_dot_product_attention', 'linear', 'layer_norm', 'linear', 'gelu', 'linear', 'layer_norm', 'linear', 'log_softmax']

Input Shapes:
  - ids: [4, 128] dtype=torch.int64

Output Shapes:
  - output0: [4, 128, 256] dtype=torch.float32
  - output1: [4, 128, 8192] dtype=torch.float32
  - output2: [4, 128, 8192] dtype=torch.float32

Weight Shapes:
  - head.weight: [8192, 256] dtype=torch.float32
  - pos: [128, 256] dtype=torch.float32
  - blocks_0_ln1.weight: [256] dtype=torch.float32
  - blocks_0_ln1.bias: [256] dtype=torch.float32
  - blocks_0_qkv.weight: [768, 256] dtype=torch.float32
  - blocks_0_qkv.bias: [768] dtype=torch.float32
  - blocks_0_proj.weight: [256, 256] dtype=torch.float32
  - blocks_0_proj.bias: [256] dtype=torch.float32
  - blocks_0_ln2.weight: [256] dtype=torch.float32
  - blocks_0_ln2.bias: [256] dtype=torch.float32
  - blocks_0_fc1.weight: [1024, 256] dtype=torch.float32
  - blocks_0_fc1.bias: [1024] dtype=torch.float32
  - blocks_0_fc2.weight: [256, 1024] dtype=torch.float32
  - blocks_0_fc2.bias: [256] dtype=torch.float32
  - blocks_1_ln1.weight: [256] dtype=torch.float32
  - blocks_1_ln1.bias: [256] dtype=torch.float32
  - blocks_1_qkv.weight: [768, 256] dtype=torch.float32
  - blocks_1_qkv.bias: [768] dtype=torch.float32
  - blocks_1_proj.weight: [256, 256] dtype=torch.float32
  - blocks_1_proj.bias: [256] dtype=torch.float32
  - blocks_1_ln2.weight: [256] dtype=torch.float32
  - blocks_1_ln2.bias: [256] dtype=torch.float32
  - blocks_1_fc1.weight: [1024, 256] dtype=torch.float32
  - blocks_1_fc1.bias: [1024] dtype=torch.float32
  - blocks_1_fc2.weight: [256, 1024] dtype=torch.float32
  - blocks_1_fc2.bias: [256] dtype=torch.float32
  - ln_f.weight: [256] dtype=torch.float32
  - ln_f.bias: [256] dtype=torch.float32
"""

"""A small decoder-only language model with the output head tied to the token embedding.

Integer token ids in, a learned position table as a buffer-free parameter, in-place residual
updates, and a nested output: logits, and a (final hidden state, [log-probabilities]) pair.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 4
seq_len = 128
vocab_size = 8192
d_model = 256
n_heads = 4
n_layers = 2


class Block(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, 4 * d_model)
        self.fc2 = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x += self.proj(y.transpose(1, 2).reshape(b, t, d))
        x += self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x


class Model(nn.Module):
    def __init__(self, vocab_size, d_model, n_heads, n_layers, max_len):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, ids):
        x = self.tok(ids) + self.pos[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        h = self.ln_f(x)
        logits = self.head(h)
        return logits, (h, [F.log_softmax(logits, dim=-1)])


def get_inputs():
    return [torch.randint(0, vocab_size, (batch_size, seq_len))]


def get_init_inputs():
    return [vocab_size, d_model, n_heads, n_layers, seq_len]


def get_expected_output_shape():
    return [(4, 128, 8192), (4, 128, 256), (4, 128, 8192)]


ALLOW_INF = False


def run_tests():
    """Build the model, run it on get_inputs(), check the output shapes and finiteness."""

    def tensors_in(value):
        """The tensors of a (nested) tuple, list or dict output, in order."""
        if isinstance(value, torch.Tensor):
            return [value]
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            return [t for v in value for t in tensors_in(v)]
        return []

    try:
        model = Model(*get_init_inputs())
        model.eval()
        with torch.no_grad():
            inputs = get_inputs()
            output = model(*inputs)
            outputs = tensors_in(output)
            for out in outputs:
                assert out is not None, "Output is None"
                if out.is_floating_point():
                    assert not torch.isnan(out).any(), "Output contains NaN"
                    assert ALLOW_INF or not torch.isinf(out).any(), "Output contains Inf"
            actual = [tuple(o.shape) for o in outputs]
            expected = [tuple(s) for s in get_expected_output_shape()]
            assert actual == expected, f"Output shapes {actual} != expected {expected}"
            print(f"Input shape(s): {[tuple(x.shape) for x in inputs if isinstance(x, torch.Tensor)]}")
            print(f"Output shape(s): {actual}")
            print("PASS")
            return True
    except Exception as e:
        print(f"FAIL: {e}")
        import traceback
        traceback.print_exc()
        return False


if __name__ == "__main__":
    import sys
    sys.exit(0 if run_tests() else 1)
