"""`hdecomp prompt`: the agent prompt of prompts/AGENT_PROMPT_TEMPLATE.md, filled in for one model.

The template is the text between the `hdecomp-prompt:begin` and `hdecomp-prompt:end` markers of
that file (inside its outer four-backtick fence); its `{{FIELD}}` placeholders are replaced here.
The prompts/ folder is found relative to the repository that holds the installed package, so the
printed paths work wherever the user runs the command.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import ANALYSIS_MD, STEP_SUMMARY_JSON, TREE_JSON, VERIFICATION_DIR

TEMPLATE_FILE = "AGENT_PROMPT_TEMPLATE.md"
PROMPT_FILES = ("MAIN_PROMPT.md", "VERIFICATION_GUIDE.md", "OUTPUT_SCHEMA.md", TEMPLATE_FILE)
INPUT_TYPES = ("single_file", "package", "repo")

_BEGIN = "<!-- hdecomp-prompt:begin -->"
_END = "<!-- hdecomp-prompt:end -->"
_FIELD_RE = re.compile(r"\{\{([A-Z_]+)\}\}")


def repo_root() -> Path:
    """The repository that holds the installed `hdecomp_ir` package (editable install)."""
    return Path(__file__).resolve().parent.parent


def prompts_dir() -> Path:
    """Absolute path of prompts/; bad input when the package was installed without it."""
    path = repo_root() / "prompts"
    missing = [name for name in PROMPT_FILES if not (path / name).is_file()]
    if missing:
        raise UserInputError(f"prompt files missing: {', '.join(missing)}", where=str(path),
                             fix="install hdecomp from a checkout of the repository (pip install -e .)")
    return path


def template_text(prompts: Path | None = None) -> str:
    """The prompt between the markers of AGENT_PROMPT_TEMPLATE.md, without its outer fence."""
    path = (prompts or prompts_dir()) / TEMPLATE_FILE
    text = path.read_text()
    try:
        body = text.split(_BEGIN, 1)[1].split(_END, 1)[0]
    except IndexError:
        raise UserInputError("prompt markers not found", where=str(path),
                             fix=f"keep the {_BEGIN} and {_END} lines around the prompt") from None
    lines = body.strip("\n").splitlines()
    if lines and lines[0].startswith("````") and lines[-1].startswith("````"):
        lines = lines[1:-1]
    return "\n".join(lines) + "\n"


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


@dataclass
class PromptOptions:
    model_file: Path
    output_dir: Path | None = None
    class_name: str = "Model"
    input_type: str = "single_file"
    source: str | None = None


def _input_section(opts: PromptOptions, model: str) -> str:
    if opts.input_type == "single_file":
        return "Input type: single_file (a KernelBench-format file; no Round 0)"
    stem = Path(model).stem
    check = str(Path(model).with_name(f"{stem}_verify_wrapper.py"))
    where = {"package": "the Python package", "repo": "the repository"}[opts.input_type]
    extra = ("\nTrace the imports of the entry file recursively to find every module, configuration"
             " value and input shape\nthe forward pass needs." if opts.input_type == "repo" else "")
    return (f"Input type: {opts.input_type} ({opts.source})\n"
            f"Round 0: the model comes from {where} above. Write {model} as a self-contained\n"
            "KernelBench-format file: copy the classes the forward pass needs, hardcode the\n"
            "configuration values, define class Model, get_inputs() with the real input shapes\n"
            "and dtypes, and get_init_inputs(). It must import only torch and the standard library.\n"
            f"Then write {check}: it builds the original model and the wrapper,\n"
            "copies the original's state_dict into the wrapper, runs both in eval mode on the same\n"
            "get_inputs() and compares the outputs with the tolerances of VERIFICATION_GUIDE.md\n"
            "(prints PASS). Keep both files outside the output directory: every folder under\n"
            "its steps/ is a decomposition step that hdecomp verify judges." + extra)


def _lower_command(model: str, out: str, class_name: str) -> str:
    cls = f" --class {class_name}" if class_name != "Model" else ""
    return f"hdecomp lower {model} -o {out}{cls}"


def _draft_section(opts: PromptOptions, model: str, out_dir: Path, out: str) -> str:
    lower = _lower_command(model, out, opts.class_name)
    tree = out_dir / TREE_JSON
    if not tree.is_file():
        if out_dir.exists():
            return (f"{out} exists but holds no {TREE_JSON}: it is not an hdecomp draft. Move it\n"
                    f"aside (do not delete work you have not looked at), then make the draft:\n\n"
                    f"  {lower}")
        first = "After Round 0, make" if opts.input_type != "single_file" else "Make"
        return (f"There is no draft yet. {first} it with\n\n  {lower}\n\n"
                f"It traces the model, writes the whole tree into {out} and verifies every step\n"
                "and the composition; then start with Round 1.")
    status = "not verified (lowered with --no-verify)"
    summary = out_dir / VERIFICATION_DIR / STEP_SUMMARY_JSON
    if summary.is_file():
        try:
            data = json.loads(summary.read_text())
            status = (f"{data.get('status', '?')}: {data.get('passed', '?')}/"
                      f"{data.get('total_steps', '?')} steps passed, composition "
                      f"{data.get('composition_test', '?')}")
        except (OSError, ValueError):
            status = f"unknown ({summary.name} is unreadable)"
    return (f"A draft exists in {out}; last verification: {status}.\n"
            f"Start from {out}/{ANALYSIS_MD} and {out}/{TREE_JSON}.\n"
            "Refine it in place; do not lower again into this directory.")


def render_prompt(opts: PromptOptions) -> str:
    """The filled-in agent prompt for one model and output directory."""
    from workflow.lower import default_output_dir

    if opts.input_type not in INPUT_TYPES:
        raise UserInputError(f"unknown input type '{opts.input_type}'",
                             fix=f"use one of {', '.join(INPUT_TYPES)}")
    model_path = Path(opts.model_file)
    if opts.input_type == "single_file":
        if not model_path.is_file():
            raise UserInputError("model file not found", where=str(model_path),
                                 fix="pass a KernelBench-format file, or --input-type package/repo "
                                     "with --source for a model that must be wrapped first")
        if opts.source:
            raise UserInputError("--source applies only to --input-type package or repo")
    elif not opts.source:
        raise UserInputError(f"--input-type {opts.input_type} needs --source",
                             fix="name the package class (transformers:LlamaForCausalLM) or the "
                                 "repository, entry file and class")
    if model_path.suffix != ".py":
        raise UserInputError("the model file must be a .py file", where=str(model_path))
    out_dir = Path(opts.output_dir) if opts.output_dir is not None else default_output_dir(model_path)
    model, out = display_path(model_path), display_path(out_dir)
    fields = {
        "MODEL": model,
        "OUTPUT_DIR": out,
        "PROMPTS_DIR": str(prompts_dir()),
        "WORKDIR": str(Path.cwd()),
        "INPUT": _input_section(opts, model),
        "DRAFT": _draft_section(opts, model, out_dir, out),
    }
    text = template_text()
    unknown = sorted(set(_FIELD_RE.findall(text)) - set(fields))
    if unknown:
        raise UserInputError(f"unknown fields in the prompt template: {', '.join(unknown)}",
                             where=str(prompts_dir() / TEMPLATE_FILE))
    return _FIELD_RE.sub(lambda m: fields[m.group(1)], text)
