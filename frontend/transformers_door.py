"""The transformers front door: `hdecomp lower transformers:LlamaForCausalLM --config cfg.json`.

From a transformers model class and its config (a JSON file, or the class's own default config;
never a download), write the self-contained KernelBench-format wrapper that the rest of hdecomp
lowers like any model file: it builds the architecture from the config written into it, feeds it
the inputs of its modality at the requested shape, and returns the tensor a kernel engineer
wants (logits with `use_cache=False`, else the last hidden state). Beside it goes
`verify_wrapper.py`, which proves the wrapper equal to the transformers model it wraps.

`--layers N` keeps every width and shape but only N repeated blocks, so that a small machine can
verify the draft; the wrapper and the analysis say it is reduced, never the model itself.
"""

from __future__ import annotations

import inspect
import json
import pprint
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.ir import snake_case

PREFIX = "transformers:"

DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16"}

# Config fields that count repeated blocks, by architecture family.
LAYER_FIELDS = ("num_hidden_layers", "num_layers", "num_decoder_layers", "encoder_layers",
                "decoder_layers", "n_layer")
# Inputs of the other half of an encoder-decoder: (name, default shape) beside the main one.
DECODER_INPUT = ("decoder_input_ids", (1, 128))


@dataclass
class DoorOptions:
    """What the user asked for on the command line."""

    target: str                            # "transformers:LlamaForCausalLM"
    config: Path | None = None
    input_shape: str | None = None         # "1x2048": the main input's shape
    dtype: str | None = None               # bf16 / fp16 / fp32
    layers: int | None = None
    inputs: list[str] = field(default_factory=list)   # ["decoder_input_ids=1x64"]


@dataclass
class Wrapper:
    """The written wrapper: its source, its name, and what the analysis should say about it."""

    name: str
    source: str
    verify_source: str
    notes: list[str]
    reduced: str | None = None


def is_transformers_target(text: str) -> bool:
    """Whether a MODEL_FILE argument names a transformers class instead of a file."""
    return str(text).startswith(PREFIX)


def _shape(text: str, what: str) -> tuple[int, ...]:
    if not re.fullmatch(r"\d+(x\d+)*", text):
        raise UserInputError(f"{what} {text!r} is no shape", fix="write sizes joined by x, e.g. 1x2048")
    return tuple(int(p) for p in text.split("x"))


def _model_class(name: str) -> type:
    try:
        import transformers
    except ImportError:
        raise UserInputError("transformers is not installed", where=PREFIX + name,
                             fix="pip install 'hdecomp[hf]' (or pip install transformers)") from None
    cls = getattr(transformers, name, None)
    if not (isinstance(cls, type) and hasattr(cls, "config_class")):
        raise UserInputError(f"transformers has no model class {name!r}", where=PREFIX + name,
                             fix="name a model class, e.g. transformers:LlamaForCausalLM")
    return cls


def _config_dict(cls: type, path: Path | None) -> dict[str, Any]:
    if path is None:
        return cls.config_class().to_diff_dict()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError("config file does not exist", where=str(path), fix="check the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserInputError(f"config is not JSON: {err}", where=str(path),
                             fix="give a transformers config.json") from None
    if not isinstance(data, dict):
        raise UserInputError("config is not a JSON object", where=str(path),
                             fix="give a transformers config.json")
    # Bookkeeping keys of a saved config; the class decides the architecture.
    for key in ("architectures", "transformers_version", "_name_or_path", "auto_map"):
        data.pop(key, None)
    return data


def _inputs(cls: type, config: Any, opts: DoorOptions) -> dict[str, tuple[tuple[int, ...], str]]:
    """Input name -> (shape, how to draw it), the main input first."""
    main = getattr(cls, "main_input_name", "input_ids")
    if main == "input_ids":
        shape, draw = (1, 2048), f"randint:{config.vocab_size}"
    elif main == "pixel_values":
        size = getattr(config, "image_size", 224)
        size = size if isinstance(size, int) else size[0]
        shape, draw = (1, getattr(config, "num_channels", 3), size, size), "randn"
    elif main == "input_features":
        frames = 2 * getattr(config, "max_source_positions", 1500)
        shape, draw = (1, getattr(config, "num_mel_bins", 80), frames), "randn"
    else:
        raise UserInputError(f"{cls.__name__} takes {main!r}, which the front door does not know",
                             where=PREFIX + cls.__name__,
                             fix="write a KernelBench-format wrapper file and lower that")
    if opts.input_shape:
        shape = _shape(opts.input_shape, "--input-shape")
    out = {main: (shape, draw)}
    params = inspect.signature(cls.forward).parameters
    if getattr(config, "is_encoder_decoder", False) and DECODER_INPUT[0] in params:
        out[DECODER_INPUT[0]] = ((shape[0], DECODER_INPUT[1][1]), f"randint:{config.vocab_size}")
    for item in opts.inputs:
        name, _, text = item.partition("=")
        if name not in params or not text:
            raise UserInputError(f"--input {item!r} names no input of {cls.__name__}.forward",
                                 fix=f"use NAME=SHAPE with NAME one of {', '.join(list(params)[1:6])}, ...")
        draw = out.get(name, (None, f"randint:{config.vocab_size}" if name.endswith("ids") else "randn"))[1]
        out[name] = (_shape(text, f"--input {name}"), draw)
    return out


def build_wrapper(opts: DoorOptions) -> Wrapper:
    """The KernelBench-format wrapper for `opts.target` (and its verify_wrapper.py)."""
    name = opts.target[len(PREFIX):]
    cls = _model_class(name)
    data = _config_dict(cls, opts.config)
    try:
        config = cls.config_class.from_dict(dict(data))
    except Exception as err:
        raise UserInputError(f"the config does not build a {cls.config_class.__name__}: {err}",
                             where=str(opts.config or PREFIX + name), fix="fix the config") from None
    reduced = None
    notes = [f"Wrapper for transformers.{name} built from "
             f"{'config ' + str(opts.config) if opts.config else 'its default config'} (no download)."]
    if opts.layers is not None:
        if opts.layers < 1:
            raise UserInputError("--layers must be at least 1", fix="give a positive number of blocks")
        fields = [f for f in LAYER_FIELDS if isinstance(getattr(config, f, None), int)]
        if not fields:
            raise UserInputError(f"{cls.config_class.__name__} has no layer count to reduce",
                                 where=PREFIX + name, fix="drop --layers")
        full = {f: getattr(config, f) for f in fields}
        for f in fields:
            data[f] = min(opts.layers, full[f])
        reduced = (f"{opts.layers} repeated blocks instead of "
                   f"{', '.join(f'{f}={v}' for f, v in full.items())}")
        notes.append(f"REDUCED: {reduced}; every width and shape is the model's, but this is "
                     "not the model's decomposition.")
    dtype = DTYPES.get((opts.dtype or "fp32").lower())
    if dtype is None:
        raise UserInputError(f"unknown --dtype {opts.dtype!r}", fix="use fp32, bf16 or fp16")
    inputs = _inputs(cls, config, opts)
    params = inspect.signature(cls.forward).parameters
    kwargs = [f"{n}={n}" for n in inputs] + (["use_cache=False"] if "use_cache" in params else [])
    # Heads (…ForCausalLM, …ForImageClassification) return logits; base models hidden states.
    out_field = "logits" if "For" in name else "last_hidden_state"
    draws = []
    for n, (shape, draw) in inputs.items():
        size = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
        if draw.startswith("randint:"):
            draws.append(f"torch.randint(0, {draw.split(':')[1]}, ({size}))")
        else:
            draws.append(f"torch.randn({size}, dtype=torch.{dtype})")
    doc = "\n".join(notes)
    source = WRAPPER.format(doc=doc, name=name, config_class=cls.config_class.__name__,
                            config=pprint.pformat(data, indent=4, width=96, sort_dicts=True),
                            dtype=dtype, args=", ".join(inputs), kwargs=", ".join(kwargs),
                            out=out_field, inputs=", ".join(draws))
    stem = snake_case(name) + (f"_layers{opts.layers}" if opts.layers else "")
    extra = ", use_cache=False" if "use_cache" in params else ""
    verify = VERIFY.format(name=name, stem=stem, names=list(inputs), extra=extra, out=out_field)
    return Wrapper(name=stem, source=source, verify_source=verify, notes=notes, reduced=reduced)


WRAPPER = '''"""{doc}

Written by `hdecomp lower transformers:{name}`; steps/step_0_preparation/verify_wrapper.py proves
it equal to the transformers model it wraps.
"""
import torch
import transformers
from torch import nn

CONFIG = {config}


def build(cls, config, dtype):
    """The model built in its dtype, as from_pretrained(dtype=...) builds it: an fp32 build cast
    afterwards would hold both copies at once, and casts the fp32 buffers (rotary tables) too."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return cls(config).eval()
    finally:
        torch.set_default_dtype(default)


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.{config_class}.from_dict(dict(CONFIG))
        self.model = build(transformers.{name}, config, torch.{dtype})

    def forward(self, {args}):
        return self.model({kwargs}).{out}


def get_inputs():
    return [{inputs}]


def get_init_inputs():
    return []
'''

VERIFY = '''"""The wrapper computes what transformers.{name} computes: the same weights and inputs,
the model called directly, compared exactly. Run it from anywhere:
python steps/step_0_preparation/verify_wrapper.py"""
import sys
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "level_3_model"))
import {stem} as wrapper  # noqa: E402

NAMES = {names!r}


def main() -> int:
    torch.manual_seed(0)
    wrapped = wrapper.Model().eval()
    dtype = next(wrapped.parameters()).dtype
    direct = wrapper.build(transformers.{name}, wrapped.model.config, dtype)
    direct.load_state_dict(wrapped.model.state_dict())
    inputs = wrapper.get_inputs()
    with torch.no_grad():
        expected = direct(**dict(zip(NAMES, inputs)){extra}).{out}
        actual = wrapped(*inputs)
    same = torch.equal(expected, actual)
    print("PASS" if same else f"FAIL: max difference {{(expected - actual).abs().max().item():.3e}}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
'''
