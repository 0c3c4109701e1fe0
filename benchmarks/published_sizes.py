"""Lower transformers architectures at their published sizes with `--no-verify` (a benchmark,
not a test): wall time and peak RSS per model.

    python benchmarks/published_sizes.py [--only llama3_8b,qwen3_4b] [--out DIR]
    python benchmarks/published_sizes.py --layers 2 --verify   # published widths, 2 blocks, verified

Each model goes through the front door (`hdecomp lower transformers:CLASS --config ...`) with
its published config (written out below; nothing is downloaded), at the architecture's usual
input size and in the dtype it ships in. Every lowering runs in
its own process; peak RSS is the largest resident set of its processes (getrusage of children).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs one command and reports its exit code and its process tree's peak resident set.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("EXIT", code)
print("PEAK_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
"""

# name: (model class, dtype, config fields, main input's shape); the front door adds the rest
# (decoder_input_ids of an encoder-decoder: batch x 128).
MODELS: dict[str, tuple[str, str, dict, str]] = {
    "llama3_8b": ("LlamaForCausalLM", "bf16", dict(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
        rms_norm_eps=1e-5, rope_theta=500000.0), "1x2048"),
    "qwen3_4b": ("Qwen3ForCausalLM", "bf16", dict(
        vocab_size=151936, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True), "1x2048"),
    "mistral_7b": ("MistralForCausalLM", "bf16", dict(
        vocab_size=32768, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768,
        rms_norm_eps=1e-5, rope_theta=1000000.0, sliding_window=None), "1x2048"),
    "gemma3_4b": ("Gemma3ForCausalLM", "bf16", dict(
        vocab_size=262208, hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
        num_attention_heads=8, num_key_value_heads=4, head_dim=256, sliding_window=1024,
        max_position_embeddings=131072), "1x2048"),
    "mixtral_8x7b": ("MixtralForCausalLM", "bf16", dict(
        vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, num_local_experts=8,
        num_experts_per_tok=2, max_position_embeddings=32768, rope_theta=1000000.0),
        "1x2048"),
    "gpt_oss_120b": ("GptOssForCausalLM", "bf16", dict(
        vocab_size=201088, hidden_size=2880, intermediate_size=2880, num_hidden_layers=36,
        num_attention_heads=64, num_key_value_heads=8, head_dim=64, num_local_experts=128,
        num_experts_per_tok=4, sliding_window=128, max_position_embeddings=131072),
        "1x2048"),
    "bert_base": ("BertModel", "fp32", dict(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512), "8x512"),
    "vit_base_16": ("ViTModel", "fp32", dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        image_size=224, patch_size=16), "8x3x224x224"),
    "t5_base": ("T5Model", "fp32", dict(
        vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12), "8x512"),
    "whisper_small": ("WhisperModel", "fp32", dict(
        vocab_size=51865, d_model=768, encoder_layers=12, decoder_layers=12,
        encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072,
        decoder_ffn_dim=3072, num_mel_bins=80, max_source_positions=1500,
        max_target_positions=448), "1x80x3000"),
    "mamba_130m": ("MambaForCausalLM", "fp32", dict(
        vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24,
        intermediate_size=1536, conv_kernel=4, time_step_rank=48), "1x2048"),
}


# With --layers (a reduced model verified on this machine): inputs short enough for CPU trials;
# every width stays published. Images and audio keep the size their config fixes.
SHORT_SHAPES = {name: "1x128" for name in MODELS}
SHORT_SHAPES.update(vit_base_16="1x3x224x224", whisper_small="1x80x3000")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated model names (default: all)")
    parser.add_argument("--out", type=Path, help="where the wrappers and trees go (default: a temp dir)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per model")
    parser.add_argument("--layers", type=int, help="keep N repeated blocks (front door --layers)")
    parser.add_argument("--verify", action="store_true",
                        help="verify every step (default: --no-verify, emitted only)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    root = args.out or Path(tempfile.mkdtemp(prefix="hdecomp-published-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"{'model':16s} {'result':8s} {'wall s':>8s} {'peak RSS MB':>12s}  detail")
    for name in names:
        cls, dtype, fields, shape = MODELS[name]
        if args.layers:
            shape = SHORT_SHAPES[name]
        config = root / f"{name}.json"
        config.write_text(json.dumps(fields))
        # The front door writes the wrapper (next to the output) and lowers it.
        cmd = [sys.executable, "-m", "hdecomp.cli", "lower", f"transformers:{cls}", "--config",
               str(config), "--input-shape", shape, "--dtype", dtype, "-o",
               str(root / f"out_{name}"), "--force"]
        cmd += ["--layers", str(args.layers)] if args.layers else []
        cmd += [] if args.verify else ["--no-verify"]
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
        (root / f"{name}.log").write_text(out)
        result = ("verified" if args.verify else "emitted") if code == 0 else f"exit {code}"
        print(f"{name:16s} {result:8s} {wall:8.1f} {peak_mb:12.0f}  {detail[:160]}", flush=True)
    print(f"trees, wrappers and logs under {root}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
