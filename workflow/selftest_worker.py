"""Runs component files as `python file.py` would, one after another, in this interpreter.

    python -m workflow.selftest_worker RESULTS.jsonl FILE...

For each file: its folder first on sys.path, `runpy.run_path(file, run_name="__main__")`, exit
code from SystemExit (0 when it returns), its stdout and stderr captured, modules it imported
dropped again. One JSON line per file is appended to RESULTS.jsonl and flushed, so the parent
knows which file was running when a file hangs or kills the process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import time
import traceback


def run_one(path: str) -> dict:
    folder = os.path.dirname(os.path.abspath(path))
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_argv = list(sys.argv)
    out, err = io.StringIO(), io.StringIO()
    code: object = 0
    t0 = time.monotonic()
    sys.path.insert(0, folder)
    sys.argv = [path]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as exc:
                code = exc.code if exc.code is not None else 0
            except BaseException:  # noqa: BLE001 - the file's own failure, reported as such
                traceback.print_exc()
                code = 1
    finally:
        sys.path[:] = saved_path
        sys.argv = saved_argv
        for name in set(sys.modules) - saved_modules:
            sys.modules.pop(name, None)
    if isinstance(code, bool):
        code = int(code)
    elif not isinstance(code, int):
        print(code, file=err)
        code = 1
    return {"file": path, "returncode": code, "seconds": round(time.monotonic() - t0, 4),
            "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:]}


def main(argv: list[str]) -> int:
    results, files = argv[0], argv[1:]
    import torch  # noqa: F401 - imported once, before the first file
    with open(results, "a") as fh:
        for path in files:
            fh.write(json.dumps({"start": path}) + "\n")
            fh.flush()
            fh.write(json.dumps(run_one(path)) + "\n")
            fh.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
