"""Op coverage: the compute ops of a model against those of its decomposition's files.

Each file is loaded and traced the way `lower` traces a model (meta device, non-strict
torch.export) and lifted with `hdecomp_ir.ir.lift`, which decides what is compute (the op table,
plus arithmetic that reads a weight). Compute ops are counted by op name; the decomposition's
counts are per instance (a kernel file used twelve times counts twelve times). Plumbing is
reported beside, never judged: a parent keeps its plumbing, so kernels need not contain it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hdecomp_ir.errors import first_line
from hdecomp_ir.policy import op_info
from hdecomp_ir.spec import TREE_JSON
from verifier.step_files import sha256_file

EXTRACTION_METHOD = "torch.export.export(strict=False) on the meta device + hdecomp_ir.ir.lift (op table)"


@dataclass
class Inventory:
    compute: Counter
    plumbing: Counter
    frontend: str


_CACHE: dict[tuple[str, str], Inventory] = {}


def inventory(path: Path, class_name: str = "Model") -> Inventory:
    """Compute and plumbing op counts of one model file (cached by content)."""
    from frontend.trace import trace
    from hdecomp_ir.ir import lift
    from frontend.loader import load_model

    path = Path(path)
    key = (sha256_file(path), class_name)
    if key in _CACHE:
        return _CACHE[key]
    try:
        traced = trace(load_model(path, class_name))
    except Exception:
        # A component that loads real tensors at import (its .buffers.pt sidecar) cannot mix
        # them with a meta-device model: trace that one on the CPU.
        traced = trace(load_model(path, class_name, device="cpu"))
    ir = lift(traced, path, class_name)
    compute: Counter = Counter()
    plumbing: Counter = Counter()
    for node in ir.ops:
        name = op_info(node.target).name
        if node in ir.compute:
            compute[name] += 1
        elif node not in ir.weight_derived:
            plumbing[name] += 1
    inv = Inventory(compute, plumbing, traced.frontend)
    _CACHE[key] = inv
    return inv


def _details(orig: Counter, dec: Counter) -> list[dict[str, Any]]:
    rows = []
    for op in sorted(set(orig) | set(dec)):
        o, d = orig.get(op, 0), dec.get(op, 0)
        status = "covered" if o == d else ("missing" if d < o else "extra")
        rows.append({"op_type": op, "original_count": o, "decomposed_count": d, "status": status})
    return rows


def coverage_report(model: Path, children: list[tuple[Path, int]], *, class_name: str = "Model",
                    label: str | None = None) -> dict[str, Any]:
    """coverage_report.json (OUTPUT_SCHEMA) for a model against (file, instance count) pairs."""
    from workflow.selftest import now

    orig = inventory(Path(model), class_name)
    dec_compute: Counter = Counter()
    dec_plumbing: Counter = Counter()
    errors = []
    for file, count in children:
        try:
            inv = inventory(Path(file))
        except Exception as err:  # a file that cannot be traced covers nothing; say which
            errors.append({"file": str(file), "error": f"{type(err).__name__}: "
                           f"{first_line(err)}"})
            continue
        for op, n in inv.compute.items():
            dec_compute[op] += n * count
        for op, n in inv.plumbing.items():
            dec_plumbing[op] += n * count
    total = sum(orig.compute.values())
    covered = sum(min(n, dec_compute.get(op, 0)) for op, n in orig.compute.items())
    missing = sorted(op for op, n in orig.compute.items() if dec_compute.get(op, 0) < n)
    extra = sorted(op for op, n in dec_compute.items() if n > orig.compute.get(op, 0))
    pct = round(100.0 * covered / total, 2) if total else 100.0
    if errors:
        status = "ERROR"
    elif missing:
        status = "PARTIAL_COVERAGE"
    else:
        status = "FULL_COVERAGE"
    return {
        "timestamp": now(),
        "model_file": label or str(model),
        "status": status,
        "extraction_method": EXTRACTION_METHOD,
        "frontend": orig.frontend,
        "coverage": {
            "total_original_ops": total,
            "total_decomposed_ops": sum(dec_compute.values()),
            "covered_op_count": covered,
            "coverage_pct": pct,
            "missing_op_types": missing,
            "extra_op_types": extra,
            "op_details": _details(orig.compute, dec_compute),
        },
        "plumbing": {
            "note": "data movement and constant arithmetic; stays in parents, not judged",
            "total_original_ops": sum(orig.plumbing.values()),
            "total_decomposed_ops": sum(dec_plumbing.values()),
            "op_details": _details(orig.plumbing, dec_plumbing),
        },
        "decomposed_files": [{"file": str(f), "instances": c} for f, c in children],
        "errors": errors,
    }


def tree_coverage(out_dir: Path) -> dict[str, Any]:
    """The whole tree: the root component file against every kernel instance."""
    from workflow.layout import kernel_instances, load_tree, root_id
    from hdecomp_ir.errors import UserInputError

    out_dir = Path(out_dir)
    tree = load_tree(out_dir)
    rid = root_id(tree) if tree else None
    if tree is None or rid is None or not tree["nodes"][rid].get("path"):
        raise UserInputError(f"no usable {TREE_JSON} (root node with a path)",
                             where=str(out_dir))
    root_path = tree["nodes"][rid]["path"]
    class_name = "Model"  # component files always name their class Model
    kernels = kernel_instances(tree)
    report = coverage_report(out_dir / root_path,
                             [(out_dir / p, n) for p, n in sorted(kernels.items())],
                             class_name=class_name, label=root_path)
    report["decomp_dir"] = str(out_dir)
    report["decomposed_files"] = [{"file": p, "instances": n} for p, n in sorted(kernels.items())]
    return report


def step_coverage(out_dir: Path, step_dir: Path) -> dict[str, Any] | None:
    """One step: original.py against the children of one instance of its parent (tree order).

    None when the tree names no node for this step (an agent's tree may not say).
    """
    from workflow.layout import load_tree, step_parent

    tree = load_tree(out_dir)
    if tree is None:
        return None
    nodes = tree["nodes"]
    parent = step_parent(out_dir, tree, step_dir.name)
    if parent is None:
        return None
    counts: Counter = Counter()
    for cid in parent.get("children") or []:
        child = nodes.get(cid)
        if isinstance(child, dict) and child.get("path"):
            counts[Path(child["path"]).name] += 1
    children = [(step_dir / "children" / name, n) for name, n in sorted(counts.items())]
    rel = f"steps/{step_dir.name}"
    report = coverage_report(step_dir / "original.py", children, label=f"{rel}/original.py")
    report["decomposed_files"] = [{"file": f"{rel}/children/{p.name}", "instances": n}
                                  for p, n in children]
    return report


def _parse_child(spec: str) -> tuple[Path, int]:
    """`FILE` or `FILE:COUNT` (COUNT instances of FILE)."""
    path = Path(spec)
    if not path.exists() and ":" in spec:
        head, _, tail = spec.rpartition(":")
        if tail.isdigit():
            return Path(head), int(tail)
    return path, 1


def run_coverage_command(model: Path, *, decomp_dir: Path | None, children: list[str],
                         output: Path | None, class_name: str = "Model",
                         echo: Callable[[str], None] = print) -> bool:
    """`hdecomp coverage`: write and summarize a coverage report; True on full coverage."""
    import json

    from workflow.layout import is_decomposition, kernel_instances, load_tree
    from hdecomp_ir.errors import UserInputError

    if (decomp_dir is None) == (not children):
        raise UserInputError("give exactly one of --decomp-dir and --children",
                             fix="hdecomp coverage --model M.py --decomp-dir DIR (or --children F.py ...)")
    if not Path(model).is_file():
        raise UserInputError("model file not found", where=str(model))
    if decomp_dir is not None:
        is_decomposition(Path(decomp_dir))
        tree = load_tree(Path(decomp_dir))
        if tree is None:
            raise UserInputError(f"{TREE_JSON} is missing or malformed", where=str(decomp_dir))
        kernels = kernel_instances(tree)
        if not kernels:
            raise UserInputError("the tree has no kernel nodes", where=str(decomp_dir))
        pairs = [(Path(decomp_dir) / p, n) for p, n in sorted(kernels.items())]
    else:
        counts: dict[Path, int] = {}
        for spec in children:
            path, n = _parse_child(spec)
            if not path.is_file():
                raise UserInputError("decomposed file not found", where=str(path))
            counts[path] = counts.get(path, 0) + n
        pairs = sorted(counts.items())
    report = coverage_report(Path(model), pairs, class_name=class_name)
    if decomp_dir is not None:
        report["decomp_dir"] = str(decomp_dir)
        report["decomposed_files"] = [{"file": p, "instances": n} for p, n in sorted(kernels.items())]
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(report, indent=2) + "\n")
    cov = report["coverage"]
    for row in cov["op_details"]:
        if row["status"] != "covered":
            echo(f"{row['status']:8s} {row['op_type']}: original {row['original_count']}, "
                 f"decomposed {row['decomposed_count']}")
    for err in report["errors"]:
        echo(f"ERROR {err['file']}: {err['error']}")
    echo(f"{report['status']}: {cov['covered_op_count']}/{cov['total_original_ops']} compute ops "
         f"covered ({cov['coverage_pct']}%), {cov['total_decomposed_ops']} in the decomposition; "
         f"plumbing {report['plumbing']['total_original_ops']} original, "
         f"{report['plumbing']['total_decomposed_ops']} decomposed"
         + (f"; wrote {output}" if output else ""))
    return report["status"] == "FULL_COVERAGE"
