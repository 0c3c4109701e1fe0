"""Where a failing step's values first depart: one forward again, under a line tracer.

Only a step that already FAILs on numerics comes here (the `locate` job, see
`worker.run_refactored`), never a passing one. The judge has named the first child call whose
output matches no intermediate of the original (`numerics.first_divergence`); this run repeats
trial 0 with `sys.settrace` on the step's own files and records, statement by statement, a
fingerprint of every tensor a statement produced:

- every statement of refactored.py (its plumbing, and the lines that call children);
- the statements of the diverging child's files during that one call, with the child's inputs
  as it received them and the refactored.py line that called it.

The trusted side (`verifier.judge.locate`) matches those fingerprints against the original's
intermediates. What this process records is untrusted like everything else it says: it only
ever names a line in a message, and never reaches a verdict.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import CodeType, FrameType
from typing import Any, Callable

import torch

from verifier.runtime.instrument import Scope, fingerprint, storage_key

# Bounds, so that a loop in a child (or code written to flood the tracer) cannot make the
# diagnosis costly: statements recorded in all, and tensors recorded per statement.
MAX_EVENTS = 2000
MAX_VALUES = 8


class LineTracer:
    """Records, per executed statement of the step's files, fingerprints of the tensors it made.

    `files` maps resolved paths of the step's files to the names the result uses
    (`refactored.py`, `children/x.py`); `refactored` is refactored.py's resolved path.
    `target` is the index of the child call to trace inside (None: refactored.py only).
    """

    def __init__(self, scope: Scope, files: dict[str, str], refactored: str,
                 target: int | None) -> None:
        self.scope = scope
        self.files = files
        self.refactored = refactored
        self.target = target
        self.events: list[dict[str, Any]] = []
        self.child_inputs: list[dict[str, Any]] | None = None
        self.call_site: int | None = None
        self.truncated = False
        self._names: dict[CodeType, str | None] = {}
        self._child_frame: FrameType | None = None

    # -- sys.settrace protocol

    def __enter__(self) -> "LineTracer":
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)

    def _name(self, code: CodeType) -> str | None:
        """The step's name for a code object's file, or None for any other file."""
        if code not in self._names:
            try:
                self._names[code] = self.files.get(str(Path(code.co_filename).resolve()))
            except (OSError, ValueError):
                self._names[code] = None
        return self._names[code]

    def _global(self, frame: FrameType, event: str, arg: Any) -> Callable | None:
        """Called on every new frame: trace only the step's files, and a child only during the
        target call (torch's own frames get no line events, so they run nearly at full speed)."""
        name = self._name(frame.f_code)
        if name is None or len(self.events) >= MAX_EVENTS:
            return None
        if name == "refactored.py" and self.scope.child_depth == 0:
            return self._frame_tracer(name, {})
        if self.target is None or self.scope.child_depth == 0 or \
                len(self.scope.calls) != self.target:
            return None
        if self._child_frame is None:
            # The child's own forward: its arguments are the inputs it received, and the
            # refactored.py frame below it is the call site.
            self._child_frame = frame
            self.child_inputs = self._tensors(self._arguments(frame))
            self.call_site = self._caller_line(frame)
            return self._frame_tracer(name, self._snapshot(frame))
        return self._frame_tracer(name, self._snapshot(frame))

    def _frame_tracer(self, name: str, seen: dict[str, int]) -> Callable:
        """A local trace function: a statement's new values are read at the next line event
        (or at the return) of the same frame."""
        state = {"line": None}

        def trace(frame: FrameType, event: str, arg: Any) -> Callable | None:
            if len(self.events) >= MAX_EVENTS:
                self.truncated = True
                return None
            if event == "line":
                if state["line"] is not None:
                    self._record(name, state["line"], self._new_values(frame, seen))
                state["line"] = frame.f_lineno
            elif event == "return":
                values = self._new_values(frame, seen)
                if arg is not None:
                    values.append(arg)
                self._record(name, frame.f_lineno, values)
                if frame is self._child_frame:
                    self._child_frame = None
            return trace

        return trace

    # -- values

    def _record(self, name: str, line: int | None, values: list[Any]) -> None:
        fps = self._tensors(values)
        if line is None or not fps:
            return
        self.events.append({"file": name, "line": int(line), "calls_done": len(self.scope.calls),
                            "in_child": self.scope.child_depth > 0, "values": fps})

    def _tensors(self, values: list[Any]) -> list[dict[str, Any]]:
        """Fingerprints of the activation tensors among `values` (tuples and lists one level
        deep); parameters and buffers are no intermediate values and are left out."""
        flat: list[Any] = []
        for value in values:
            flat.extend(value if isinstance(value, (tuple, list)) else [value])
        found = []
        with self.scope.internal():
            for value in flat:
                if len(found) >= MAX_VALUES:
                    break
                if type(value) is not torch.Tensor or storage_key(value) in self.scope.weight_keys:
                    continue
                fp = fingerprint(value)
                if fp is not None:
                    found.append(fp)
        return found

    def _snapshot(self, frame: FrameType) -> dict[str, int]:
        return {k: id(v) for k, v in frame.f_locals.items() if type(v) is torch.Tensor}

    def _new_values(self, frame: FrameType, seen: dict[str, int]) -> list[Any]:
        """Tensor locals bound since the last look (a new name, or a name bound anew)."""
        new = []
        for key, value in list(frame.f_locals.items()):
            items = value if isinstance(value, (tuple, list)) else (value,)
            if not any(type(v) is torch.Tensor for v in items[:MAX_VALUES]):
                continue
            if seen.get(key) != id(value):
                seen[key] = id(value)
                new.append(value)
        return new

    @staticmethod
    def _arguments(frame: FrameType) -> list[Any]:
        code = frame.f_code
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        return [frame.f_locals[n] for n in names if n in frame.f_locals]

    def _caller_line(self, frame: FrameType) -> int | None:
        """The line of the nearest refactored.py frame below `frame`."""
        caller = frame.f_back
        while caller is not None:
            if self._name(caller.f_code) == "refactored.py":
                return caller.f_lineno
            caller = caller.f_back
        return None

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "child_inputs": self.child_inputs,
                "call_site": self.call_site, "truncated": self.truncated}


def caller_line(refactored: str, cache: dict[str, bool]) -> int | None:
    """The line being executed in the innermost refactored.py frame of this thread (the call
    site of the child module whose hook runs now); None outside one. `cache` keeps, per file
    name, whether it is refactored.py, so the walk costs no file-system calls after the first."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename not in cache:
            try:
                cache[filename] = str(Path(filename).resolve()) == refactored
            except (OSError, ValueError):
                cache[filename] = False
        if cache[filename]:
            return frame.f_lineno
        frame = frame.f_back
    return None
