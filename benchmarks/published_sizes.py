"""Lower transformers architectures at their published sizes with `--no-verify` (a benchmark,
not a test): wall time and peak RSS per model.

    python benchmarks/published_sizes.py [--only llama3_8b,qwen3_4b] [--out DIR]

Each model is built from its published config (written out below; nothing is downloaded) by a
KernelBench-format wrapper that returns what a kernel engineer wants (logits, or the last hidden
state) at the architecture's usual input size, in the dtype it ships in. Every lowering runs in
its own process; peak RSS is the largest resident set of its processes (getrusage of children).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRAPPER = '''import torch
import transformers
from torch import nn


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.{config}(**{kwargs!r})
        self.model = transformers.{cls}(config).to(torch.{dtype})

    def forward(self, {args}):
        return self.model({call}).{out}


def get_inputs():
    return [{inputs}]


def get_init_inputs():
    return []
'''

# Runs one command and reports its exit code and its process tree's peak resident set.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("EXIT", code)
print("PEAK_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
"""

LM = dict(args="input_ids", call="input_ids=input_ids, use_cache=False", out="logits")


def _lm(vocab: int, seq: int) -> dict[str, str]:
    return dict(LM, inputs=f"torch.randint(0, {vocab}, (1, {seq}))")


# name: (config class, model class, dtype, config kwargs, forward wiring)
MODELS: dict[str, tuple[str, str, str, dict, dict]] = {
    "llama3_8b": ("LlamaConfig", "LlamaForCausalLM", "bfloat16", dict(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
        rms_norm_eps=1e-5, rope_theta=500000.0), _lm(128256, 2048)),
    "qwen3_4b": ("Qwen3Config", "Qwen3ForCausalLM", "bfloat16", dict(
        vocab_size=151936, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True), _lm(151936, 2048)),
    "mistral_7b": ("MistralConfig", "MistralForCausalLM", "bfloat16", dict(
        vocab_size=32768, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768,
        rms_norm_eps=1e-5, rope_theta=1000000.0, sliding_window=None), _lm(32768, 2048)),
    "gemma3_4b": ("Gemma3TextConfig", "Gemma3ForCausalLM", "bfloat16", dict(
        vocab_size=262208, hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
        num_attention_heads=8, num_key_value_heads=4, head_dim=256, sliding_window=1024,
        max_position_embeddings=131072), _lm(262208, 2048)),
    "mixtral_8x7b": ("MixtralConfig", "MixtralForCausalLM", "bfloat16", dict(
        vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, num_local_experts=8,
        num_experts_per_tok=2, max_position_embeddings=32768, rope_theta=1000000.0),
        _lm(32000, 2048)),
    "gpt_oss_120b": ("GptOssConfig", "GptOssForCausalLM", "bfloat16", dict(
        vocab_size=201088, hidden_size=2880, intermediate_size=2880, num_hidden_layers=36,
        num_attention_heads=64, num_key_value_heads=8, head_dim=64, num_local_experts=128,
        num_experts_per_tok=4, sliding_window=128, max_position_embeddings=131072),
        _lm(201088, 2048)),
    "bert_base": ("BertConfig", "BertModel", "float32", dict(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512),
        dict(args="input_ids", call="input_ids=input_ids", out="last_hidden_state",
             inputs="torch.randint(0, 30522, (8, 512))")),
    "vit_base_16": ("ViTConfig", "ViTModel", "float32", dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        image_size=224, patch_size=16),
        dict(args="pixel_values", call="pixel_values=pixel_values", out="last_hidden_state",
             inputs="torch.randn(8, 3, 224, 224)")),
    "t5_base": ("T5Config", "T5Model", "float32", dict(
        vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12),
        dict(args="input_ids, decoder_input_ids",
             call="input_ids=input_ids, decoder_input_ids=decoder_input_ids, use_cache=False",
             out="last_hidden_state",
             inputs="torch.randint(0, 32128, (8, 512)), torch.randint(0, 32128, (8, 128))")),
    "whisper_small": ("WhisperConfig", "WhisperModel", "float32", dict(
        vocab_size=51865, d_model=768, encoder_layers=12, decoder_layers=12,
        encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072,
        decoder_ffn_dim=3072, num_mel_bins=80, max_source_positions=1500,
        max_target_positions=448),
        dict(args="input_features, decoder_input_ids",
             call="input_features=input_features, decoder_input_ids=decoder_input_ids, "
                  "use_cache=False", out="last_hidden_state",
             inputs="torch.randn(1, 80, 3000), torch.randint(0, 51865, (1, 128))")),
    "mamba_130m": ("MambaConfig", "MambaForCausalLM", "float32", dict(
        vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24,
        intermediate_size=1536, conv_kernel=4, time_step_rank=48), _lm(50280, 2048)),
}


def wrapper_source(name: str) -> str:
    """The KernelBench-format file for one published model."""
    config, cls, dtype, kwargs, io = MODELS[name]
    return WRAPPER.format(config=config, cls=cls, dtype=dtype, kwargs=kwargs, **io)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated model names (default: all)")
    parser.add_argument("--out", type=Path, help="where the wrappers and trees go (default: a temp dir)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per model")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    root = args.out or Path(tempfile.mkdtemp(prefix="hdecomp-published-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"{'model':16s} {'result':8s} {'wall s':>8s} {'peak RSS MB':>12s}  detail")
    for name in names:
        model_file = root / f"{name}.py"
        model_file.write_text(wrapper_source(name))
        cmd = [sys.executable, "-m", "hdecomp.cli", "lower", str(model_file), "-o",
               str(root / f"out_{name}"), "--force", "--no-verify"]
        t0 = time.monotonic()
        # A fresh measuring process per model: RUSAGE_CHILDREN is the largest child so far, so
        # only a process of its own gives each model its own peak.
        proc = subprocess.Popen([sys.executable, "-c", MEASURE, *cmd], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            out += f"\ntimed out after {args.timeout:.0f} s"
        wall = time.monotonic() - t0
        lines = [ln for ln in out.strip().splitlines() if ln.strip()]
        peaks = [ln for ln in lines if ln.startswith("PEAK_KB ")]
        peak_mb = int(peaks[-1].split()[1]) / 1024 if peaks else float("nan")
        lines = [ln for ln in lines if not ln.startswith("PEAK_KB ")]
        code = int(lines.pop().split()[1]) if lines and lines[-1].startswith("EXIT ") else proc.returncode
        detail = next((ln for ln in lines if ln.startswith(("error:", "internal error:"))),
                      lines[-1] if lines else "")
        result = "emitted" if code == 0 else f"exit {code}"
        print(f"{name:16s} {result:8s} {wall:8.1f} {peak_mb:12.0f}  {detail[:160]}", flush=True)
    print(f"trees and wrappers under {root}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
