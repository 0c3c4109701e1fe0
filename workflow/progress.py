"""Progress of a long command on stderr: which step, which worker and trial, elapsed, time left.

Three modes, one per command-line switch: `text` (default: a line when a step starts and a line
every few seconds while a worker runs), `quiet` (`--quiet`: nothing), `json` (`--json`: one JSON
object per line, the same events). Standard output keeps the command's own results, so a
script can read them without the progress in between.

The time left is an estimate from the steps done so far (their mean duration times the steps
left), shown once one step has finished.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, TextIO

MODES = ("text", "quiet", "json")


class Progress:
    """Reports the steps of one run; `heartbeat` is what the verifier calls while a worker runs."""

    def __init__(self, mode: str = "text", stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r} is not one of {MODES}")
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.monotonic()
        self.total = 0
        self.index = 0
        self.name = ""
        self.done_seconds: list[float] = []
        self._step_t0 = self.t0

    @property
    def heartbeat(self) -> Callable[[dict[str, Any]], None] | None:
        """The callback for StepOptions.progress (None when quiet: the verifier then runs no
        heartbeat thread at all)."""
        return None if self.mode == "quiet" else self._heartbeat

    def begin(self, total: int, what: str = "steps") -> None:
        self.total = total
        self._emit({"event": "begin", "total": total, "what": what},
                   f"verifying {total} {what}")

    def step(self, index: int, name: str) -> None:
        """Step `index` (0-based) of `total` starts."""
        now = time.monotonic()
        if index > 0:
            self.done_seconds.append(now - self._step_t0)
        self.index, self.name, self._step_t0 = index, name, now
        left = self.eta()
        tail = f", about {_seconds(left)} left" if left is not None else ""
        self._emit({"event": "step", "index": index + 1, "total": self.total, "step": name,
                    "elapsed_s": round(now - self.t0, 1),
                    "eta_s": round(left, 1) if left is not None else None},
                   f"[{index + 1}/{self.total}] {name} ({_seconds(now - self.t0)} elapsed{tail})")

    def phase(self, what: str) -> None:
        """A stage after the steps (the composition, the self-tests)."""
        now = time.monotonic()
        self._emit({"event": "phase", "what": what, "elapsed_s": round(now - self.t0, 1)},
                   f"{what} ({_seconds(now - self.t0)} elapsed)")

    def eta(self) -> float | None:
        """Seconds left for the steps not yet finished, from the mean of those done."""
        if not self.done_seconds or not self.total:
            return None
        mean = sum(self.done_seconds) / len(self.done_seconds)
        return mean * (self.total - self.index)

    def _heartbeat(self, beat: dict[str, Any]) -> None:
        from verifier.judge.verdict import phase_text

        self._emit({"event": "worker", "step": self.name, **beat},
                   f"    {self.name}: {beat.get('worker')} model {phase_text(beat)}, "
                   f"{_seconds(float(beat.get('seconds') or 0))}")

    def _emit(self, event: dict[str, Any], text: str) -> None:
        if self.mode == "quiet":
            return
        line = json.dumps(event) if self.mode == "json" else text
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not stop the verification


def _seconds(value: float) -> str:
    value = max(0.0, value)
    if value < 90:
        return f"{value:.0f} s"
    minutes, seconds = divmod(int(value + 0.5), 60)
    return f"{minutes} min {seconds:02d} s"
