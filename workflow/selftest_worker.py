"""Runs the hdecomp self-test harness on component files, one after another, in this interpreter.

    python -m workflow.selftest_worker RESULTS.jsonl FILE...

For each file: its folder first on sys.path, the file imported as a module (so its own
`run_tests` and `__main__` block never run: what they print is not evidence), `Model(*
get_init_inputs())` built in eval mode and run on `get_inputs()` without autograd, the output
leaves saved with `torch.save` next to RESULTS.jsonl (FILE's index: RESULTS.jsonl.<i>.pt), its
stdout and stderr captured, modules it imported dropped again. One JSON line per file is
appended to RESULTS.jsonl and flushed, so the parent knows which file was running when a file
hangs or kills the process. The parent (`workflow.selftest`) reads the saved tensors back with
`weights_only=True` and checks shapes and finiteness itself; returncode here only says whether
the harness got that far.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import time
import traceback


def run_one(path: str, outputs: str) -> dict:
    """Build and run one component file's Model on its own inputs; save the output leaves."""
    import torch

    from workflow.compose_worker import flatten

    folder = os.path.dirname(os.path.abspath(path))
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_argv = list(sys.argv)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    t0 = time.monotonic()
    sys.path.insert(0, folder)
    sys.argv = [path]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                spec = importlib.util.spec_from_file_location("hdecomp_selftest_component", path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {path}")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                model = module.Model(*module.get_init_inputs())
                model.eval()
                with torch.no_grad():
                    output = model(*module.get_inputs())
                torch.save([leaf if isinstance(leaf, torch.Tensor) else None
                            for leaf in flatten(output)], outputs)
            except BaseException:  # noqa: BLE001 - the file's own failure, reported as such
                traceback.print_exc()
                code = 1
    finally:
        sys.path[:] = saved_path
        sys.argv = saved_argv
        for name in set(sys.modules) - saved_modules:
            sys.modules.pop(name, None)
    return {"file": path, "returncode": code, "seconds": round(time.monotonic() - t0, 4),
            "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:]}


# JSON from the parent: {"isolation", "read_only", "writable", "root"} (see _enter_view).
VIEW_ENV = "HDECOMP_SELFTEST_VIEW"


def _enter_view() -> None:
    """Enter the namespace view the parent asked for, before the first component file runs."""
    from pathlib import Path

    from verifier.runtime import isolation

    spec = json.loads(os.environ.pop(VIEW_ENV, "") or "{}")
    if spec.get("isolation") != isolation.NAMESPACE:
        return
    cwd = os.getcwd()
    root = Path(spec["root"])
    root.mkdir()
    writable = tuple(Path(p) for p in spec["writable"])
    isolation.enter(isolation.View(refactored=None, children_dir=None, scratch=writable[0],
                                   root=root, read_only=tuple(Path(p) for p in spec["read_only"]),
                                   writable=writable))
    os.chdir(cwd)


def main(argv: list[str]) -> int:
    results, files = argv[0], argv[1:]
    import torch  # noqa: F401 - imported once, before the first file

    from workflow.compose_worker import flatten  # noqa: F401 - imported before the view hides it

    _enter_view()
    with open(results, "a") as fh:
        for index, path in enumerate(files):
            fh.write(json.dumps({"start": path}) + "\n")
            fh.flush()
            fh.write(json.dumps(run_one(path, f"{results}.{index}.pt")) + "\n")
            fh.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
