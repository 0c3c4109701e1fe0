"""Time `verify-step` per step over step directories (a benchmark, not a test).

    python benchmarks/verify_step_time.py tests/verification/corpus/honest [--repeat 2]

Every directory holding original.py and refactored.py is verified with one StepVerifier (one fork
server, as `lower` and `verify` use it); prints seconds per step and the total. Run it on two
checkouts (before/after a change) on a quiet machine to compare.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path, help="folders holding step directories")
    parser.add_argument("--repeat", type=int, default=1, help="runs per step; the median is kept")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from verifier import StepOptions, StepVerifier

    steps = sorted(p.parent for root in args.roots for p in root.rglob("refactored.py")
                   if (p.parent / "original.py").is_file())
    total = 0.0
    with StepVerifier() as verifier:
        # One throwaway run starts the fork server, so the first step does not pay for it.
        if steps:
            verifier.verify(StepOptions(original=steps[0] / "original.py",
                                        refactored=steps[0] / "refactored.py", timeout=120.0))
        for step in steps:
            times = []
            status = "?"
            for _ in range(args.repeat):
                t0 = time.monotonic()
                result = verifier.verify(StepOptions(original=step / "original.py",
                                                     refactored=step / "refactored.py",
                                                     timeout=120.0))
                times.append(time.monotonic() - t0)
                status = result.status
            seconds = statistics.median(times)
            total += seconds
            print(f"{seconds:8.3f} s  {status:5s}  {step}")
    print(f"{total:8.3f} s  total over {len(steps)} steps "
          f"({total / max(len(steps), 1):.3f} s per step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
