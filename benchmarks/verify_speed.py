"""Verification speed against its floor and against the seeds' hand-run workflow (a benchmark,
not a test; issue 15).

    python benchmarks/verify_speed.py MODEL.py [MODEL.py ...] [--trials 3] [--out DIR]

For each model file, in one run on the same tree:

- `lower`: `hdecomp lower MODEL -o DIR` (trace, emit, verify every step, composition, self-tests),
  wall time, and peak memory summed over all its processes (sampled from /proc every 0.2 s);
- the floor: the forwards a verification must run, in one bare process: per trial one forward
  of the original, one of each unique step's refactored model, one of the composed model;
- the seeds' workflow: one plain Python process per step that builds the step's original and
  refactored models and runs both for every trial, once per instance of the step's component
  (the seeds verify every copy of a repeated block), plus the composition test's process;
- the model's own forward: one bare process building the model and running it once (peak RSS).

It prints one row per model: the three times, lower / floor, seeds / lower, and the peaks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# One bare process: the forwards verification cannot avoid (the floor).
FLOOR = r"""
import importlib.util, sys, time, torch
from pathlib import Path
out, trials = Path(sys.argv[1]), int(sys.argv[2])
torch.set_grad_enabled(False)

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).parent))
    spec.loader.exec_module(module)
    return module

total = 0.0
comp = load(out / "verification" / "composition_test.py", "composition")
original_module = comp.load_original()
original = original_module.Model(*original_module.get_init_inputs()).eval()
composed = comp.ComposedModel().eval()
steps = []
for step in sorted((out / "steps").glob("step_[1-9]*")):
    orig = load(step / "original.py", f"orig_{step.name}")
    ref = load(step / "refactored.py", f"ref_{step.name}")
    init = ref.get_init_inputs() if hasattr(ref, "get_init_inputs") else []
    steps.append((ref.RefactoredModel(*init).eval(), orig.get_inputs))
for trial in range(trials):
    torch.manual_seed(trial)
    inputs = original_module.get_inputs()
    t0 = time.perf_counter(); original(*inputs); composed(*inputs); total += time.perf_counter() - t0
    for model, get_inputs in steps:
        step_inputs = get_inputs()
        t0 = time.perf_counter(); model(*step_inputs); total += time.perf_counter() - t0
print("FORWARD_S", total)
"""

# One step the seeds' way: a fresh process runs the step's original and refactored per trial.
SEEDS_STEP = r"""
import importlib.util, sys, torch
from pathlib import Path
step, trials = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, str(step))
def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
orig, ref = load(step / "original.py", "original"), load(step / "refactored.py", "refactored")
a = orig.Model(*orig.get_init_inputs()).eval()
b = ref.RefactoredModel(*(ref.get_init_inputs() if hasattr(ref, "get_init_inputs") else [])).eval()
with torch.no_grad():
    for trial in range(trials):
        torch.manual_seed(trial)
        x = orig.get_inputs()
        a(*[t.clone() if isinstance(t, torch.Tensor) else t for t in x]); b(*x)
"""

# The model's own forward, once, in a bare process.
FORWARD = r"""
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
with torch.no_grad():
    m.Model(*m.get_init_inputs()).eval()(*m.get_inputs())
"""


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(p for p, parent in parents.items() if parent == pid)
    return total


def run(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, int, str]:
    """(wall seconds, peak summed RSS bytes, exit code, output) of a command."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    return time.monotonic() - start, peak[0], proc.returncode, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--trials", type=int, default=3, help="trials per step (hdecomp's default)")
    parser.add_argument("--out", type=Path, help="where the trees go (default: a temp dir)")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="hdecomp-speed-"))
    py = sys.executable
    print(f"{'model':34s} {'lower s':>8s} {'floor s':>8s} {'seeds s':>8s} {'lower/floor':>11s} "
          f"{'seeds/lower':>11s} {'lower MB':>9s} {'forward MB':>10s}")
    for model in args.models:
        out = root / model.stem
        lower_s, lower_peak, code, text = run([py, "-m", "hdecomp.cli", "lower", str(model),
                                               "-o", str(out), "--force", "--quiet"])
        if code not in (0, 1) or not (out / "decomposition_tree.json").is_file():
            print(f"{model.stem:34s} lower failed (exit {code}): {text.strip()[-300:]}")
            continue
        _, _, _, floor_text = run([py, "-c", FLOOR, str(out), str(args.trials)])
        floor_s = next((float(ln.split()[1]) for ln in floor_text.splitlines()
                        if ln.startswith("FORWARD_S ")), float("nan"))
        tree = json.loads((out / "decomposition_tree.json").read_text())
        instances = {n["step"]: n.get("instance_count", 1) for n in tree["nodes"].values()
                     if n.get("step")}
        seeds_s = 0.0
        for step in sorted((out / "steps").glob("step_[1-9]*")):
            wall, _, _, _ = run([py, "-c", SEEDS_STEP, str(step), str(args.trials)])
            seeds_s += wall * instances.get(step.name, 1)
        wall, _, _, _ = run([py, str(out / "verification" / "composition_test.py")])
        seeds_s += wall
        _, forward_peak, _, _ = run([py, "-c", FORWARD, str(model)])
        print(f"{model.stem:34s} {lower_s:8.1f} {floor_s:8.1f} {seeds_s:8.1f} "
              f"{lower_s / floor_s:11.2f} {seeds_s / lower_s:11.2f} {lower_peak / 2**20:9.0f} "
              f"{forward_peak / 2**20:10.0f}", flush=True)
    print(f"trees under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
