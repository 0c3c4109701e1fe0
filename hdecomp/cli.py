"""The `hdecomp` command line.

Every command turns an `HdecompError` into one line on stderr and its exit code
(0 all pass, 1 a check failed, 2 bad input); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

import click

from hdecomp_ir.errors import HdecompError, first_line, silence_known_noise

EXIT_INTERNAL = 70
silence_known_noise()  # before anything imports torch


class _State:
    debug: bool = False


def _report_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body; map errors to one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HdecompError as err:
            if _State.debug:
                traceback.print_exc()
            click.echo(f"error: {err.one_line()}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as err:  # a bug of ours: still one line unless --debug
            if _State.debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(err).__name__}: {first_line(err)} "
                       "(rerun with --debug for the traceback and report it)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """hdecomp: PyTorch model -> verified hierarchy of standalone unit tests."""
    _State.debug = debug
    try:
        os.getcwd()
    except FileNotFoundError:
        # torch cannot even load from a deleted directory (it aborts with an MKL error)
        click.echo("error: the current directory no longer exists (deleted or replaced) "
                   "(`cd` to it again, or to another directory)", err=True)
        sys.exit(2)
    # A kill (SIGTERM) unwinds like Ctrl-C, so half-built output is removed, never left mixed.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _progress_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet and --json: how a long command reports its progress on stderr."""
    fn = click.option("--json", "progress_json", is_flag=True,
                      help="Progress as JSON lines on stderr (step, worker, trial, elapsed, "
                           "time left).")(fn)
    return click.option("--quiet", is_flag=True, help="No progress lines.")(fn)


def _progress_mode(quiet: bool, progress_json: bool) -> str:
    from hdecomp_ir.errors import UserInputError

    if quiet and progress_json:
        raise UserInputError("--quiet and --json exclude each other", fix="pass one of them")
    return "quiet" if quiet else "json" if progress_json else "text"


@main.command()
@click.argument("model_file", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output_dir", type=click.Path(path_type=Path), default=None,
              help="Output directory (default: output/<source level>/<model name>/).")
@click.option("--class", "class_name", default="Model", show_default=True,
              help="Name of the nn.Module class in MODEL_FILE.")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where verification runs.")
@click.option("--no-verify", is_flag=True, help="Emit the tree without running the equivalence pass.")
@click.option("--timeout", type=float, default=None,
              help="Seconds loading and tracing the model may take (default: 120 s to load, "
                   "then 60 s plus 30 s per billion parameters to trace).")
@click.option("--memory-limit", type=float, default=None,
              help="GiB loading and tracing may allocate (default: 80% of available memory).")
@click.option("--config", "config", type=click.Path(path_type=Path), default=None,
              help="transformers:CLASS only: the model's config.json (default: the class's "
                   "default config).")
@click.option("--input-shape", default=None,
              help="transformers:CLASS only: the main input's shape, e.g. 1x2048.")
@click.option("--dtype", default=None, help="transformers:CLASS only: fp32 (default), bf16 or fp16.")
@click.option("--layers", type=int, default=None,
              help="transformers:CLASS only: keep N repeated blocks (a reduced draft, marked so).")
@click.option("--input", "inputs", multiple=True,
              help="transformers:CLASS only: NAME=SHAPE of another forward() input; repeatable.")
@_progress_options
@_report_errors
def lower(model_file: Path, output_dir: Path | None, class_name: str, force: bool, device: str,
          no_verify: bool, timeout: float | None, memory_limit: float | None,
          config: Path | None, input_shape: str | None, dtype: str | None, layers: int | None,
          inputs: tuple[str, ...], quiet: bool, progress_json: bool) -> None:
    """Lower MODEL_FILE (or transformers:CLASS) into a verified draft decomposition."""
    from frontend.transformers_door import DoorOptions, build_wrapper, is_transformers_target
    from hdecomp_ir.errors import UserInputError
    from workflow.lower import WRAPPER_CHECK, LowerOptions, lower_model

    notes: list[str] = []
    extra: dict[str, str] = {}
    reduced = None
    door = [n for n, v in (("--config", config), ("--input-shape", input_shape),
                           ("--dtype", dtype), ("--layers", layers), ("--input", inputs)) if v]
    if is_transformers_target(str(model_file)):
        wrapper = build_wrapper(DoorOptions(target=str(model_file), config=config,
                                            input_shape=input_shape, dtype=dtype, layers=layers,
                                            inputs=list(inputs)))
        output_dir = output_dir or Path("output") / "transformers" / wrapper.name
        model_file = output_dir.parent / f"{wrapper.name}.py"
        if model_file.exists() and not force and model_file.read_text() != wrapper.source:
            raise UserInputError("a different wrapper file already exists", where=str(model_file),
                                 fix="pass --force to replace it, or -o another directory")
        model_file.parent.mkdir(parents=True, exist_ok=True)
        model_file.write_text(wrapper.source, encoding="utf-8")
        click.echo(f"wrote wrapper {model_file}")
        notes, extra = wrapper.notes, {WRAPPER_CHECK: wrapper.verify_source}
        reduced = wrapper.reduced
    elif door:
        raise UserInputError(f"{door[0]} applies to transformers:CLASS targets only",
                             where=str(model_file), fix=f"drop {door[0]}, or lower transformers:CLASS")
    opts = LowerOptions(model_file=model_file, output_dir=output_dir, class_name=class_name,
                        force=force, device=device, verify=not no_verify, timeout=timeout,
                        memory_limit=int(memory_limit * 2**30) if memory_limit else None,
                        notes=notes, extra_files=extra, reduced=reduced,
                        progress=_progress_mode(quiet, progress_json))
    ok = lower_model(opts, echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("model_file", type=click.Path(path_type=Path))
@click.option("--class", "class_name", default="Model", show_default=True)
@click.option("--dump-dir", type=click.Path(path_type=Path), default=None,
              help="Write NNN_<pass>.ir files here instead of printing.")
@click.option("--passes", "pass_names", default=None,
              help="Comma-separated pass names to run (default: the whole pipeline).")
@_report_errors
def ir(model_file: Path, class_name: str, dump_dir: Path | None, pass_names: str | None) -> None:
    """Print the IR after each pass of the pipeline."""
    from workflow.lower import dump_ir

    names = [p.strip() for p in pass_names.split(",")] if pass_names else None
    dump_ir(model_file, class_name=class_name, dump_dir=dump_dir, pass_names=names, echo=click.echo)


@main.command("verify-step")
@click.option("--original", required=True, type=click.Path(path_type=Path))
@click.option("--refactored", required=True, type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), default=None)
@click.option("--weight-map", type=click.Path(path_type=Path), default=None)
@click.option("--rtol", type=float, default=None)
@click.option("--atol", type=float, default=None)
@click.option("--trials", type=int, default=None,
              help="Trials, each on fresh seeds.  [default: 3; 1 with --quick]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds the untrusted code may run.")
@click.option("--quick", is_flag=True,
              help="One trial, every check as usual, for fast iteration: a step that would pass "
                   "is QUICK, written to verification_result.quick.json beside refactored.py (or "
                   "--output), "
                   "and `hdecomp verify` never counts it as PASS.")
@_progress_options
@_report_errors
def verify_step(original: Path, refactored: Path, output: Path | None, weight_map: Path | None,
                rtol: float | None, atol: float | None, trials: int | None, device: str,
                timeout: float, quick: bool, quiet: bool, progress_json: bool) -> None:
    """Verify one agent-written step: anti-cheat, weight transfer, numerics."""
    from hdecomp_ir.errors import UserInputError
    from hdecomp_ir.spec import NUM_TRIALS, QUICK_RESULT_JSON, QUICK_STATUS, STEP_RESULT_JSON
    from verifier import StepOptions, verify_step as run_verify_step
    from workflow.progress import Progress

    progress = Progress(_progress_mode(quiet, progress_json))
    progress.name = Path(refactored).resolve().parent.name  # one step: its workers' lines only
    if quick:
        if output is None:
            output = Path(refactored).parent / QUICK_RESULT_JSON
        elif Path(output).name == STEP_RESULT_JSON:
            raise UserInputError(f"--quick does not write {STEP_RESULT_JSON}, which `verify` reads",
                                 where=str(output),
                                 fix=f"leave --output out (it writes {QUICK_RESULT_JSON}) or name "
                                     "another file")
    result = run_verify_step(StepOptions(original=original, refactored=refactored, output=output,
                                         weight_map=weight_map, rtol=rtol, atol=atol,
                                         trials=trials if trials is not None else (1 if quick else NUM_TRIALS),
                                         device=device, timeout=timeout, quick=quick,
                                         progress=progress.heartbeat))
    click.echo(result.summary_line())
    sys.exit(0 if result.passed or result.status == QUICK_STATUS else 1)


# -- whole-directory checks (hdecomp_ir/checks) ---------------------------------------------------

@main.command("verify")
@click.argument("decomp_dir", type=click.Path(path_type=Path))
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("-j", "--jobs", type=int, default=2, show_default=True,
              help="Interpreters running the component self-tests.")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds one step or one self-test may run.")
@click.option("--rerun-all", is_flag=True, help="Re-verify every step, fresh PASS results included.")
@click.option("--no-coverage", is_flag=True, help="Skip the op coverage check.")
@_progress_options
@_report_errors
def verify_cmd(decomp_dir: Path, device: str, jobs: int, timeout: float, rerun_all: bool,
               no_coverage: bool, quiet: bool, progress_json: bool) -> None:
    """Re-check a whole decomposition: steps (stale ones re-run), self-tests, composition,
    coverage and the tree layout; writes the verification/ summaries."""
    from workflow.verify_tree import VerifyOptions, verify_dir

    report = verify_dir(VerifyOptions(out_dir=decomp_dir, device=device, jobs=jobs, timeout=timeout,
                                      rerun_all=rerun_all, coverage=not no_coverage,
                                      progress=_progress_mode(quiet, progress_json)),
                        echo=click.echo)
    for line in report.failures:
        click.echo(line)
    for line in report.checks:
        click.echo(line)
    passed = sum(1 for r in report.steps if r["verification_status"] == "PASS")
    click.echo(f"steps: {passed}/{len(report.steps)} PASS ({len(report.reused)} fresh results reused, "
               f"{len(report.rerun)} verified, {len(report.stale)} stale)")
    click.echo(f"{'PASS' if report.ok else 'FAIL'}: {decomp_dir}")
    sys.exit(0 if report.ok else 1)


@main.command("test")
@click.argument("decomp_dir", type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=int, default=2, show_default=True)
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds one component file may run.")
@click.option("--composition/--no-composition", default=True, show_default=True,
              help="Also run verification/composition_test.py.")
@_report_errors
def test_cmd(decomp_dir: Path, jobs: int, timeout: float, composition: bool) -> None:
    """Run every component file's self-test as `python file.py`; writes test_results.json."""
    from workflow.selftest import run_test_command

    ok = run_test_command(decomp_dir, jobs=jobs, timeout=timeout, composition=composition,
                          echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command("coverage")
@click.option("--model", "model_file", required=True, type=click.Path(path_type=Path),
              help="The original model file.")
@click.option("--decomp-dir", type=click.Path(path_type=Path), default=None,
              help="Count the L0 kernels of this decomposition, per instance.")
@click.option("--children", "children", multiple=True,
              help="A decomposed file (FILE or FILE:COUNT); repeat, or list more after it.")
@click.argument("more_children", nargs=-1)
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write coverage_report.json here.")
@click.option("--class", "class_name", default="Model", show_default=True)
@_report_errors
def coverage_cmd(model_file: Path, decomp_dir: Path | None, children: tuple[str, ...],
                 more_children: tuple[str, ...], output: Path | None, class_name: str) -> None:
    """Compute-op coverage of MODEL by its decomposition (kernels counted per instance)."""
    from workflow.coverage import run_coverage_command

    ok = run_coverage_command(model_file, decomp_dir=decomp_dir,
                              children=list(children) + list(more_children), output=output,
                              class_name=class_name, echo=click.echo)
    sys.exit(0 if ok else 1)


# -- the agent's edit commands (workflow/edit/) ---------------------------------------------------

@main.command("rename")
@click.argument("decomp_dir", type=click.Path(path_type=Path))
@click.argument("old")
@click.argument("new")
@_report_errors
def rename_cmd(decomp_dir: Path, old: str, new: str) -> None:
    """Rename component OLD to NEW everywhere: files, step folder, children/ copies, imports,
    headers, the tree; steps whose files change become stale (re-run by `hdecomp verify`)."""
    from workflow.edit.rename import rename_component

    for line in rename_component(decomp_dir, old, new):
        click.echo(line)
    click.echo(f"renamed {old} -> {new} in {decomp_dir}")


@main.command("merge")
@click.argument("decomp_dir", type=click.Path(path_type=Path))
@click.argument("children", nargs=-1, required=True)
@click.option("--as", "name", required=True,
              help="The new fusion's component name (lower snake case, e.g. attention_core_fp32).")
@_report_errors
def merge_cmd(decomp_dir: Path, children: tuple[str, ...], name: str) -> None:
    """Group CHILDREN (kernels of one step: tree node ids such as root.bmm, or component names
    with one instance) into a new fusion NAME: writes level_1_fusion/NAME.py, its own step
    folder and the rewritten parent step for you to review; `hdecomp verify` judges them."""
    from workflow.edit.merge import merge_children

    for line in merge_children(decomp_dir, list(children), name):
        click.echo(line)
    click.echo(f"merged {len(children)} children into {name} in {decomp_dir} "
               f"(emitted, not verified: run `hdecomp verify {decomp_dir}`)")


@main.command("sync")
@click.argument("decomp_dir", type=click.Path(path_type=Path))
@_report_errors
def sync_cmd(decomp_dir: Path) -> None:
    """After hand edits: rebuild decomposition_tree.json from the files, refresh headers and the
    steps' original.py and children/ copies; one line per change (steps made stale included)."""
    from workflow.edit.sync import sync_dir

    changes = sync_dir(decomp_dir)
    for line in changes:
        click.echo(line)
    # a stale notice reports a step that needs verify, not something sync changed
    edits = [line for line in changes if not line.startswith("stale: ")]
    stale = len(changes) - len(edits)
    tail = f"; {stale} step(s) stale" if stale else ""
    click.echo(f"sync: {len(edits)} change(s) in {decomp_dir}{tail}" if edits
               else f"sync: nothing to change in {decomp_dir}{tail}")


# -- the agent workflow (hdecomp_ir/prompt.py, prompts/) -----------------------------------------

@main.command("prompt")
@click.argument("model_file", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output_dir", type=click.Path(path_type=Path), default=None,
              help="Output directory the agent works in (default: output/<source level>/<model name>/).")
@click.option("--class", "class_name", default="Model", show_default=True,
              help="Name of the nn.Module class in MODEL_FILE.")
@click.option("--input-type", type=click.Choice(["single_file", "package", "repo"]),
              default="single_file", show_default=True,
              help="package/repo: MODEL_FILE is the self-contained wrapper the agent writes first.")
@click.option("--source", default=None,
              help="Where a package or repo model comes from (transformers:LlamaForCausalLM).")
@_report_errors
def prompt(model_file: Path, output_dir: Path | None, class_name: str, input_type: str,
           source: str | None) -> None:
    """Print the agent prompt for MODEL_FILE, filled in from prompts/AGENT_PROMPT_TEMPLATE.md."""
    from workflow.prompt import PromptOptions, render_prompt

    click.echo(render_prompt(PromptOptions(model_file=model_file, output_dir=output_dir,
                                           class_name=class_name, input_type=input_type,
                                           source=source)), nl=False)


@main.command("batch")
@click.argument("roots", nargs=-1, type=click.Path(path_type=Path))
@click.option("--lower", "lower_inputs", multiple=True, type=click.Path(path_type=Path),
              help="Lower these model files (or every *.py in these folders) first; repeatable.")
@click.option("-o", "--output-root", type=click.Path(path_type=Path), default=Path("output/batch"),
              show_default=True, help="Where --lower writes the decompositions (one folder per model).")
@click.option("-j", "--jobs", type=int, default=1, show_default=True, help="Models at a time.")
@click.option("--time-limit", type=float, default=1800.0, show_default=True,
              help="Seconds per model (lower and verify together).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
              help="Where to write batch_report.json.")
@_report_errors
def batch_cmd(roots: tuple[Path, ...], lower_inputs: tuple[Path, ...], output_root: Path, jobs: int,
              time_limit: float, device: str, report_path: Path | None) -> None:
    """Verify every decomposition under ROOTS (and lower --lower models first); one table."""
    from workflow.batch import run_batch

    ok = run_batch(list(roots), list(lower_inputs), output_root=output_root, jobs=jobs,
                   limit=time_limit, device=device, report_path=report_path, echo=click.echo)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
