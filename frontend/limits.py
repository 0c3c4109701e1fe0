"""Time and memory limits around user code that runs in our own process (loading, tracing).

A model whose forward() never returns, or that allocates without bound, must end in a clear
message and exit 2, not a hung or killed command. Untrusted step code runs in worker processes
with their own limits (verifier); this guards the lowering process itself.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import threading
from typing import Callable, Iterator

import torch

from hdecomp_ir.errors import UserInputError

DEFAULT_TIMEOUT_S = 600.0
# Without --timeout: importing and constructing get a fixed limit, tracing one that grows with
# the model. Tracing a normal model takes seconds; a forward() that never returns should not
# hold the command for ten minutes.
LOAD_TIMEOUT_S = 120.0
TRACE_BASE_S = 60.0
TRACE_S_PER_BILLION_PARAMS = 30.0
PROGRESS_EVERY_S = 10.0


def trace_allowance(model: torch.nn.Module) -> float:
    """Seconds tracing `model` may take: 60 s, plus 30 s per billion parameters."""
    params = sum(p.numel() for p in model.parameters())
    return TRACE_BASE_S + TRACE_S_PER_BILLION_PARAMS * params / 1e9


@contextlib.contextmanager
def progress_lines(what: str, where: str, limit: float | None,
                   every: float = PROGRESS_EVERY_S) -> Iterator[None]:
    """A line on stderr every `every` seconds while the block runs, so a long trace shows life.

    The stream is taken now: tracing redirects sys.stderr to silence torch, not us.
    """
    stream = sys.stderr
    done = threading.Event()

    def beat() -> None:
        elapsed = 0.0
        while not done.wait(every):
            elapsed += every
            bound = f" (limit {limit:.0f}s)" if limit else ""
            print(f"{what} ({where}): still running after {elapsed:.0f}s{bound}", file=stream,
                  flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def available_memory() -> int:
    """Bytes of memory the machine can still give (MemAvailable), or 8 GiB when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def _current_vm() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so user code's `except Exception` cannot eat it."""


@contextlib.contextmanager
def limited(what: str, where: str, *, seconds: float | None = DEFAULT_TIMEOUT_S,
            memory: int | None = None) -> Iterator[None]:
    """Run a block under a wall-clock limit and an address-space budget of `memory` bytes.

    Exceeding either raises UserInputError naming `what` and `where`. The memory budget defaults
    to 80% of the memory available now, on top of what the process already maps.
    """
    use_alarm = bool(seconds) and threading.current_thread() is threading.main_thread()
    old_handler = None
    if use_alarm:
        def on_alarm(signum: int, frame: object) -> None:
            raise _Timeout()
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    budget = memory if memory is not None else int(available_memory() * 0.8)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _current_vm() + budget
    set_limit = hard == resource.RLIM_INFINITY or limit < hard
    if set_limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    except _Timeout:
        raise UserInputError(f"{what} did not finish within {seconds:.0f}s", where=where,
                             fix="check forward() for an endless loop, or raise --timeout") from None
    except MemoryError:
        raise UserInputError(f"{what} needed more than {budget / 2**30:.1f} GiB of memory",
                             where=where, fix="reduce the sizes or free memory") from None
    except RuntimeError as err:
        if "memory" in str(err).lower() and "alloc" in str(err).lower():
            raise UserInputError(f"{what} needed more than {budget / 2**30:.1f} GiB of memory",
                                 where=where, fix="reduce the sizes or free memory") from None
        raise
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        if set_limit:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
