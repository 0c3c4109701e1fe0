"""The driver: ties front end, passes, codegen and verification into `lower` and `ir`.

It is, with the CLI, the only module of hdecomp_ir that imports `passes` and `codegen`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from frontend.trace import trace
from hdecomp_ir.errors import IRInvariantError
from hdecomp_ir.ir import IR, lift
from hdecomp_ir.ir_verifier import verify_ir
from frontend.limits import LOAD_TIMEOUT_S, limited, progress_lines, trace_allowance
from frontend.loader import load_model
from hdecomp_ir.printer import print_ir

Echo = Callable[[str], None]


@dataclass
class LowerOptions:
    """Options of `hdecomp lower`."""

    model_file: Path
    output_dir: Path | None = None
    class_name: str = "Model"
    force: bool = False
    device: str = "auto"
    verify: bool = True
    verify_each: bool = False
    timeout: float | None = None        # seconds for loading and tracing; None: by model size
    memory_limit: int | None = None     # bytes; None: 80% of the memory available
    notes: list[str] = field(default_factory=list)        # for decomposition_analysis.md
    extra_files: dict[str, str] = field(default_factory=dict)  # tree path -> text (front doors)
    reduced: str | None = None          # why this draft is not the model's own (--layers)
    progress: str = "text"              # workflow.progress mode: text, quiet (--quiet), json


def build_ir(model_file: Path, class_name: str = "Model", *, pass_names: list[str] | None = None,
             on_pass: Callable[[str, IR], None] | None = None, verify_each: bool = True,
             timeout: float | None = None, memory_limit: int | None = None) -> IR:
    """Load, trace, lift and run the pipeline; `on_pass(name, ir)` sees the IR after each pass."""
    from passes import select

    select(pass_names)  # a typo in --passes is reported before any model code runs
    where = str(model_file)
    if timeout is not None:
        with limited("loading and tracing the model", where, seconds=timeout, memory=memory_limit), \
                progress_lines("loading and tracing the model", where, timeout):
            loaded = load_model(Path(model_file), class_name)
            traced = trace(loaded)
    else:
        with limited("loading the model", where, seconds=LOAD_TIMEOUT_S, memory=memory_limit), \
                progress_lines("loading the model", where, LOAD_TIMEOUT_S):
            loaded = load_model(Path(model_file), class_name)
        allowance = trace_allowance(loaded.model)
        with limited("tracing the model", where, seconds=allowance, memory=memory_limit), \
                progress_lines("tracing the model", where, allowance):
            traced = trace(loaded)
    ir = lift(traced, Path(model_file), class_name)
    ir.notes.extend(traced.rewrites)
    if on_pass:
        on_pass("input", ir)
    if verify_each:
        verify_ir(ir)
    for name, run_pass in select(pass_names):
        ir = run_pass(ir)
        if verify_each:
            try:
                verify_ir(ir)
            except IRInvariantError as err:
                # the pass that broke the invariant is the one to fix: name it
                raise IRInvariantError(f"after pass {name!r}: {err.what}", where=err.where,
                                       fix=err.fix) from err
        if on_pass:
            on_pass(name, ir)
    return ir


def dump_ir(model_file: Path, *, class_name: str = "Model", dump_dir: Path | None = None,
            pass_names: list[str] | None = None, echo: Echo = print) -> None:
    """Print (or write as NNN_<pass>.ir files) the IR after each pass."""
    count = [0]

    def on_pass(name: str, ir: IR) -> None:
        text = print_ir(ir)
        if dump_dir is not None:
            dump_dir.mkdir(parents=True, exist_ok=True)
            (dump_dir / f"{count[0]:03d}_{name}.ir").write_text(text)
        else:
            echo(f"=== after {name} ===")
            echo(text)
        count[0] += 1

    build_ir(model_file, class_name, pass_names=pass_names, on_pass=on_pass)


def source_level(model_file: Path) -> str:
    """`level3` when the model lives under a levelN folder, else `custom`."""
    for part in reversed(Path(model_file).resolve().parts[:-1]):
        if part.startswith("level") and part[5:].isdigit():
            return part
    return "custom"


def default_output_dir(model_file: Path) -> Path:
    """output/<source level>/<model name>/ of the specification."""
    return Path("output") / source_level(model_file) / Path(model_file).stem


def loose_buffers(ir: IR, model_file: Path, class_name: str,
                  timeout: float | None = None, memory_limit: int | None = None) -> dict:
    """Values of the buffers that component files must carry (masks, rotary tables).

    Lowering runs on the meta device, where buffers have no values; buffers of torch.nn builtins
    are rebuilt by their modules, but buffers a model computes itself are read from one
    construction of the model with real buffers and parameters on meta (`parameters_on_meta`),
    only when some component needs them.
    """
    from hdecomp_ir.naming import weight_names

    wanted: set[str] = set()
    for comp in ir.root.walk():
        for node, name in weight_names(ir, comp).items():
            fqn = ir.weight_fqn(node)
            if fqn and "." not in name and fqn in ir.traced.buffer_targets.values():
                wanted.add(fqn)
    if not wanted:
        return {}
    import torch

    from hdecomp_ir.spec import LOWER_BUFFERS_SEED

    torch.manual_seed(LOWER_BUFFERS_SEED)
    with limited("building the model to read its buffers", str(model_file),
                 seconds=timeout or LOAD_TIMEOUT_S, memory=memory_limit):
        real = load_model(model_file, class_name, device="cpu", meta_parameters=True)
        values = dict(real.model.named_buffers(remove_duplicate=False))
        if any(values[f].device.type == "meta" for f in wanted if f in values):
            # a buffer computed from a parameter in the constructor: only the real model has it
            torch.manual_seed(LOWER_BUFFERS_SEED)
            real = load_model(model_file, class_name, device="cpu")
            values = dict(real.model.named_buffers(remove_duplicate=False))
    return {fqn: values[fqn] for fqn in sorted(wanted) if fqn in values}


def lower_model(opts: LowerOptions, echo: Echo = print) -> bool:
    """`hdecomp lower`: trace, run the passes, emit, verify; True when every check passed."""
    import datetime
    import os

    from codegen.emit import emit
    from hdecomp_ir.errors import UserInputError
    from passes import PASS_NAMES
    from workflow.edit.log import record_verification
    from workflow.staging import StagedDir
    from workflow.progress import Progress
    from workflow.step_loop import run_equivalence

    model_file = Path(opts.model_file)
    out_dir = Path(opts.output_dir) if opts.output_dir else default_output_dir(model_file)
    if out_dir.exists() and not opts.force:
        from workflow.edit.log import read_entries

        edits = [e for e in read_entries(out_dir) if e.get("command") in ("rename", "merge", "sync")]
        if edits:
            raise UserInputError(f"output directory already exists and holds {len(edits)} edit(s) "
                                 "made since it was lowered (decomposition_log.json)",
                                 where=str(out_dir), fix="-o another directory; --force would "
                                 "replace the edited tree")
        raise UserInputError("output directory already exists", where=str(out_dir),
                             fix="pass --force to replace it, or -o another directory")
    ir = build_ir(model_file, opts.class_name, verify_each=True, timeout=opts.timeout,
                  memory_limit=opts.memory_limit)
    ir.notes.extend(opts.notes)
    buffers = loose_buffers(ir, model_file, opts.class_name, timeout=opts.timeout,
                            memory_limit=opts.memory_limit)
    timestamp = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    model_rel = os.path.relpath(model_file.resolve(), out_dir.resolve())
    emitted = emit(ir, source=model_file.read_text(encoding="utf-8"), buffers=buffers,
                   source_level=source_level(model_file), timestamp=timestamp,
                   model_rel=model_rel, passes=list(PASS_NAMES))
    echo(f"lowered {model_file} -> {out_dir} ({len(emitted.steps)} steps, "
         f"{len(emitted.files)} files, front end {ir.traced.frontend})")
    echo(print_tree(ir))
    with StagedDir(out_dir, force=opts.force) as staging:
        staging.write_files({**emitted.files,
                             **{k: v.encode("utf-8") for k, v in opts.extra_files.items()}})
        ok = True
        if opts.reduced:
            _record_status(staging.path, reduced=opts.reduced)
        if opts.verify and WRAPPER_CHECK in opts.extra_files:
            ok = _check_wrapper(staging.path / WRAPPER_CHECK, echo)
        if opts.verify:
            # The summary records the tree's own path, not the staging folder it is built in.
            try:
                ok = run_equivalence(staging.path, emitted, decomp_dir=out_dir,
                                     device=opts.device, echo=echo,
                                     progress=Progress(opts.progress)) and ok
            except UserInputError as err:
                # the staging folder is about to vanish: name the model file the user gave
                raise UserInputError(err.what, where=str(model_file), fix=err.fix) from None
            _record_status(staging.path, "PASSED" if ok else "FAILED")
            record_verification(staging.path, "PASSED" if ok else "FAILED")
        staging.commit()
    if not opts.verify:
        echo(f"emitted, not verified: {out_dir} (run `hdecomp verify {out_dir}`)")
    else:
        echo(f"{'PASS' if ok else 'FAIL'}: {out_dir}")
    return ok


# A front door's proof that its wrapper computes what the wrapped model computes.
WRAPPER_CHECK = "steps/step_0_preparation/verify_wrapper.py"


def _check_wrapper(script: Path, echo: Echo) -> bool:
    """Run verify_wrapper.py (it builds the wrapped model for real, as verification does)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    # the verdict is the script's last stdout line; library warnings go to stderr
    lines = proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines()
    verdict = lines[-1] if lines else f"exit {proc.returncode}"
    echo(f"wrapper check ({WRAPPER_CHECK}): {verdict}")
    return proc.returncode == 0


def _record_status(out_dir: Path, status: str | None = None, reduced: str | None = None) -> None:
    """Write the equivalence verdict (and a reduced draft's mark) into decomposition_tree.json's
    metadata."""
    import json

    from hdecomp_ir.spec import TREE_JSON

    path = out_dir / TREE_JSON
    tree = json.loads(path.read_text())
    if status is not None:
        tree["metadata"]["verification_status"] = status
    if reduced is not None:
        tree["metadata"]["reduced"] = reduced
    path.write_text(json.dumps(tree, indent=2) + "\n")


def print_tree(ir: IR) -> str:
    """The component tree as an indented listing with instance counts."""
    lines: list[str] = []

    def visit(comp, depth: int) -> None:
        extra = f" x{comp.instances}" if comp.instances > 1 else ""
        lines.append(f"{'  ' * depth}{comp.level.label:<7}{comp.name}{extra}")
        seen = set()
        for child in comp.children:
            if child.key in seen:
                continue
            seen.add(child.key)
            visit(child, depth + 1)

    visit(ir.root, 0)
    return "\n".join(lines)
