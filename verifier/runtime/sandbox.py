"""Isolation: run worker jobs in child processes with a time limit, cheaply.

`ForkServer` starts one long-lived server process (a fresh interpreter that imports torch and the
worker once and never touches CUDA), then forks a worker per job: a job starts in milliseconds
instead of the seconds a fresh interpreter needs to import torch. Because the server never
initialised CUDA, its forked children may use CUDA; `SpawnLauncher` (a fresh interpreter per job)
exists for when that guarantee is not wanted. (multiprocessing's own forkserver would re-import
the caller's `__main__` in every child, the hdecomp CLI or pytest, which is why this is our own.)

Each worker is its own session (`setsid`), so a timeout kills it and anything it started with one
`killpg`. Nothing is unpickled from a worker: jobs and results are JSON files in the job directory.
The server reports each worker's exit status by writing `exit.json` into that job's directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

READY = "hdecomp-forkserver-ready"
_QUIET = "from hdecomp_ir.errors import silence_known_noise; silence_known_noise(); "
_SERVER_MAIN = _QUIET + "from verifier.runtime.sandbox import serve; serve()"
_WORKER_MAIN = _QUIET + "import sys; from verifier.runtime.worker import main; sys.exit(main(sys.argv[1]))"


@dataclass
class JobOutcome:
    """How a worker process ended."""

    returncode: int | None
    timed_out: bool
    seconds: float


class Launcher(Protocol):
    """Starts worker jobs and waits for them."""

    def run(self, job_dir: Path, timeout: float) -> JobOutcome: ...

    def close(self) -> None: ...


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


class SpawnLauncher:
    """A fresh interpreter per job: slow to start, shares nothing with anyone."""

    def run(self, job_dir: Path, timeout: float) -> JobOutcome:
        t0 = time.monotonic()
        with open(job_dir / "worker.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-c", _WORKER_MAIN, str(job_dir)], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log, env=_child_env(), start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
                return JobOutcome(code, False, time.monotonic() - t0)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait()
                return JobOutcome(None, True, time.monotonic() - t0)

    def close(self) -> None:
        return None


class ForkServer:
    """Client side of the fork server; start lazily, reuse for every job, close at the end."""

    def __init__(self, start_timeout: float = 300.0) -> None:
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None

    def _ensure(self) -> subprocess.Popen[str]:
        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER_MAIN],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None, text=True, env=_child_env(),
                                     start_new_session=True)
        line = _readline(self.proc.stdout, self.start_timeout)
        if line.strip() != READY:
            self.close()
            raise RuntimeError(f"the verifier's fork server did not start ({line.strip()!r})")
        return self.proc

    def run(self, job_dir: Path, timeout: float) -> JobOutcome:
        proc = self._ensure()
        assert proc.stdin is not None and proc.stdout is not None
        exit_file = job_dir / "exit.json"
        proc.stdin.write(json.dumps({"job_dir": str(job_dir)}) + "\n")
        proc.stdin.flush()
        reply = json.loads(_readline(proc.stdout, 60.0))
        pid = int(reply["pid"])
        t0 = time.monotonic()
        deadline = t0 + timeout
        delay = 0.002
        while not exit_file.exists():
            if time.monotonic() > deadline:
                _kill_group(pid)
                self._await(exit_file, 30.0)
                return JobOutcome(None, True, time.monotonic() - t0)
            if proc.poll() is not None:
                raise RuntimeError("the verifier's fork server died")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)
        code = json.loads(exit_file.read_text())["returncode"]
        return JobOutcome(code, False, time.monotonic() - t0)

    @staticmethod
    def _await(path: Path, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not path.exists() and time.monotonic() < end:
            time.sleep(0.01)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        # The server holds no state worth a graceful exit (interpreter teardown with torch
        # loaded takes seconds), and no worker runs between jobs: end it at once.
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        _kill_group(proc.pid)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _readline(stream: IO[str] | None, timeout: float) -> str:
    """One line from a pipe, or '' after `timeout` seconds."""
    import select

    assert stream is not None
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


# ---------------------------------------------------------------------------------------------
# Server side (python -m verifier.runtime.sandbox)


def serve() -> None:
    """Fork a worker per request line; report exits through exit.json files."""
    import torch  # noqa: F401 - preload: the reason this server exists

    from verifier.runtime import worker

    worker.warm_up()
    jobs: dict[int, Path] = {}

    def reap(signum: int, frame: Any) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job_dir = jobs.pop(pid, None)
            if job_dir is not None:
                code = os.waitstatus_to_exitcode(status)
                tmp = job_dir / "exit.tmp"
                tmp.write_text(json.dumps({"pid": pid, "returncode": code}))
                tmp.replace(job_dir / "exit.json")

    signal.signal(signal.SIGCHLD, reap)
    out = sys.stdout
    out.write(READY + "\n")
    out.flush()
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        job_dir = Path(json.loads(line)["job_dir"])
        # Block SIGCHLD until the pid is registered, so a fast worker's exit is not lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setsid()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                log = os.open(job_dir / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                code = worker.main(str(job_dir))
            except BaseException:  # noqa: BLE001 - report and leave; never return into the server loop
                import traceback

                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        jobs[pid] = job_dir
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
    for pid in list(jobs):
        _kill_group(pid)


if __name__ == "__main__":
    serve()
