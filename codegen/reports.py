"""decomposition_tree.json and decomposition_analysis.md."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from torch import fx

from hdecomp_ir.ir import IR, Component, TensorType, grouped_mm_rows, value_type
from hdecomp_ir.policy import OpKind
from hdecomp_ir.printer import display_class
from hdecomp_ir.spec import BASE_SEED, DECOMPOSITION_LOG_FORMAT, Level
from codegen.files import balanced_counts


def _shapes(ir: IR, nodes: list[fx.Node], names: list[str]) -> tuple[dict, dict]:
    shapes, dtypes = {}, {}
    for name, node in zip(names, nodes):
        t = value_type(node)
        if isinstance(t, TensorType):
            shapes[name] = list(t.shape)
            dtypes[name] = str(t.dtype).replace("torch.", "")
    return shapes, dtypes


def tree_json(ir: IR, *, ids: dict[int, str], paths: dict[str, str], steps: dict[str, str],
              source_level: str, timestamp: str, status: str) -> dict[str, Any]:
    """The specification's decomposition_tree.json (nodes per instance, data_flow)."""
    comps = list(ir.root.walk())
    by_level = Counter(c.level.label for c in comps)
    nodes: dict[str, Any] = {}
    flow: list[dict[str, Any]] = []
    for comp in comps:
        cid = ids[id(comp)]
        ins = ir.inputs(comp) if comp is not ir.root else [
            n for n in ir.traced.graph.nodes if n.op == "placeholder"
            and n.name in ir.traced.user_inputs]
        in_names = [n.name for n in ins]
        outs = ir.outputs(comp)
        out_names = ["output" if len(outs) == 1 else f"output{i}" for i in range(len(outs))]
        in_shapes, in_dtypes = _shapes(ir, ins, in_names)
        out_shapes, out_dtypes = _shapes(ir, outs, out_names)
        node = {"id": cid, "name": comp.name, "level": comp.level.label,
                "path": paths[comp.key], "instance_count": comp.instances,
                "children": [ids[id(c)] for c in comp.children],
                "input_shapes": in_shapes, "output_shapes": out_shapes,
                "input_dtypes": in_dtypes, "output_dtypes": out_dtypes}
        if comp.module_path:
            node["module_path"] = comp.module_path
        if comp.key in steps:
            node["step"] = steps[comp.key]
        nodes[cid] = node
        # Data flow between this component's children (and from/to the component itself).
        producer: dict[fx.Node, str] = {n: cid for n in ins}
        for child in comp.children:
            for n in ir.region(child):
                producer[n] = ids[id(child)]
        for child in comp.children:
            for n in ir.inputs(child):
                t = value_type(n)
                if not isinstance(t, TensorType):
                    continue
                flow.append({"from": producer.get(n, cid), "to": ids[id(child)],
                             "tensor_name": n.name, "shape": list(t.shape),
                             "dtype": str(t.dtype).replace("torch.", "")})
    return {
        "metadata": {
            "source_file": ir.model_file.as_posix(), "source_level": source_level,
            "model_name": ir.model_name, "class_name": ir.class_name,
            "frontend": ir.traced.frontend, "timestamp": timestamp,
            "total_components": len(comps),
            "by_level": {lvl.label: by_level.get(lvl.label, 0) for lvl in reversed(Level)},
            "unique_kernels": len({c.key for c in comps if c.is_kernel}),
            "unique_components": len({c.key for c in comps}),
            "verification_status": status,
        },
        "nodes": nodes,
        "data_flow": flow,
    }


def split_semantic_candidates(ir: IR) -> list[str]:
    """Custom leaf modules whose few ops became several kernels: maybe one named function
    (an RMSNorm, a rotary embedding, a hand-written GELU) that a person would keep whole."""
    by_module: dict[str, list[Component]] = {}
    for kernel in ir.kernels():
        if kernel.origin != "kernel-op":
            continue
        stack = ir.module_stack(ir.ops[kernel.start])
        if stack and stack[-1][1]:
            by_module.setdefault(f"{stack[-1][1]} ({stack[-1][2].rsplit('.', 1)[-1]})",
                                 []).append(kernel)
    notes = []
    model = ir.traced.model
    for where, kernels in sorted(by_module.items()):
        path = where.split(" ", 1)[0]
        try:
            leaf = model is not None and not any(True for _ in model.get_submodule(path).children())
        except AttributeError:
            leaf = False
        if leaf and 2 <= len(kernels) <= 8:
            ops = ", ".join(k.label for k in kernels)
            notes.append(f"module `{where}` was split into {len(kernels)} kernels ({ops}); if it "
                         "computes one named function, a person may keep it as one semantic "
                         "kernel.")
    root_ops = [k for k in ir.kernels() if k.origin == "kernel-op"]
    if ir.root.level is not Level.KERNEL and len(root_ops) == len(ir.kernels()) <= 8 and \
            not ir.root.module_path:
        notes.append(f"the model's own forward() ({len(root_ops)} ops: "
                     f"{', '.join(k.label for k in root_ops)}) was split op by op; if it is one "
                     "named function (a norm, an activation), it could be a single kernel.")
    return notes


def analysis_md(ir: IR, *, paths: dict[str, str], steps: dict[str, str]) -> str:
    """decomposition_analysis.md: what the passes decided, and what a person should look at."""
    comps = list(ir.root.walk())
    uniq: dict[str, Component] = {}
    for c in comps:
        uniq.setdefault(c.key, c)
    lines = [f"# Decomposition analysis: {ir.model_name}", "",
             f"- Source: `{ir.model_file.as_posix()}` (class `{ir.class_name}`)",
             f"- Front end: `{ir.traced.frontend}`",
             f"- Root level: {ir.root.level.label}",
             f"- Ops traced: {len(ir.ops)} ({len(ir.compute)} compute, "
             f"{len(ir.ops) - len(ir.compute)} plumbing)",
             f"- Components: {len(comps)} instances, {len(uniq)} unique files", ""]
    lines += ["## Hierarchy", "", "```"]

    def tree(c: Component, depth: int) -> None:
        extra = f" x{c.instances}" if c.instances > 1 else ""
        lines.append(f"{'  ' * depth}{c.level.label}: {c.name}{extra}")
        for child in c.children:
            tree(child, depth + 1)

    tree(ir.root, 0)
    lines += ["```", "", "## Steps", ""]
    for key, step in steps.items():
        lines.append(f"- `steps/{step}/` decomposes `{paths[key]}`")
    lines += ["", "## Arithmetic left in parents", ""]
    lines += [f"- {line}" for line in parent_arithmetic(ir, uniq, paths)] or ["- none"]
    lines += ["", "## Decisions to review", ""]
    lines += [f"- {d}" for d in review_decisions(ir, paths=paths)] or ["- none"]
    return "\n".join(lines) + "\n"


def parent_arithmetic(ir: IR, uniq: dict[str, Component], paths: dict[str, str]) -> list[str]:
    """Per unique parent, the arithmetic its forward() keeps (the policy's plumbing): joins of
    two activations (residual adds: the specification keeps them there) and ops with a constant
    (a scale, an eps) that no kernel took. A person checks that nothing else computes there."""
    out = []
    for comp in uniq.values():
        if comp.is_kernel:
            continue
        joins: dict[str, int] = {}
        constants: dict[str, int] = {}
        for node in ir.direct_nodes(comp):
            info = ir.info(node)
            if info.kind is not OpKind.ARITH:
                continue
            kind = joins if ir.activation_operands(node) > 1 else constants
            kind[info.name] = kind.get(info.name, 0) + 1
        if not joins and not constants:
            continue

        def text(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))

        parts = [f"{text(joins)} joining two activations (residual-style)"] if joins else []
        parts += [f"{text(constants)} with a constant"] if constants else []
        out.append(f"`{paths[comp.key]}`: " + "; ".join(parts))
    return out


def review_decisions(ir: IR, *, paths: dict[str, str]) -> list[str]:
    """The places where a rule decided and a person should look: the analysis's "Decisions to
    review" and the decisions of lower's entry in decomposition_log.json."""
    uniq: dict[str, Component] = {}
    for c in ir.root.walk():
        uniq.setdefault(c.key, c)
    decisions = list(ir.notes)
    values = {n.name: ir.user_input_value(n) for n in ir.traced.graph.nodes
              if n.op == "placeholder" and n.name in ir.traced.user_inputs}
    numbers = [f"`{name}={value!r}`" for name, value in values.items()
               if isinstance(value, (bool, int, float))]
    if numbers:
        decisions.append("number inputs are traced as constants: " + ", ".join(numbers)
                         + "; the components compute with these values, whatever is passed.")
    if ir.traced.specialized:
        decisions.append("forward() branches on tensor values; the front end traced it with the "
                         f"reference inputs (the first trial's, seed {BASE_SEED}) and fixed each decision to the branch taken: "
                         + "; ".join(f"`{d}`" for d in ir.traced.specialized)
                         + ". Inputs that take another branch are not covered by this draft.")
    decisions += routing_decisions(ir, uniq, paths)
    for region in ir.traced.loops.values():
        decisions.append(
            f"`{region.name}()` loops over time ({region.steps} steps in one call): it was traced "
            "as one op and is one kernel whose file holds the function's own source, specialised "
            "to the branches this call took (branches for other arguments or other packages were "
            "removed); its Python loop is the workload, not an unrolled graph.")
    for c in uniq.values():
        where = f"`{paths[c.key]}`"
        if c.origin == "layer-chunk":
            decisions.append(f"{where}: layer cut from a run of loose ops by rule (pooling "
                             "boundaries, at most 15 kernels); a person may prefer other cuts.")
        elif c.origin == "fusion-pattern":
            decisions.append(f"{where}: fusion by the recognised `{c.label}` pattern "
                             "(it overrides the one-anchor lattice rule).")
        elif c.origin == "fusion":
            decisions.append(f"{where}: fusion chosen by the anchor + elementwise-chain rule.")
        elif c.origin == "kernel-pattern":
            decisions.append(f"{where}: {len(ir.compute_nodes(c))} ops written inline compute "
                             f"`{c.label}` (the semantic table, by their ops): one kernel.")
        elif c.origin == "kernel-semantic" and not c.module_path:
            decisions.append(f"{where}: the model's forward computes one function "
                             f"(`{c.label}`, by its ops) and is kept whole as one kernel.")
        elif c.origin == "kernel-semantic":
            decisions.append(f"{where}: custom module `{display_class(c.module_class)}` kept whole as one "
                             "semantic kernel.")
        elif c.is_kernel and c.origin == "kernel-module" and len(ir.compute_nodes(c)) > 1:
            decisions.append(f"{where}: torch.nn builtin `{c.label}` kept whole as one kernel "
                             f"({len(ir.compute_nodes(c))} ops).")
        if c.level is Level.LAYER and len(c.children) == 1:
            decisions.append(f"{where}: layer with a single child; a person may merge it with a "
                             "neighbour.")
        for note in c.notes:
            decisions.append(f"{where}: {note}")
    decisions.extend(split_semantic_candidates(ir))
    if ir.unclassified:
        decisions.append("ops not in the op table, kept whole as opaque kernels: "
                         + ", ".join(f"`{n}`" for n in sorted(ir.unclassified)))
    return decisions


def routing_decisions(ir: IR, uniq: dict[Any, Component], paths: dict[Any, str]) -> list[str]:
    """One decision per routing the expert components' get_inputs() pass (grouped-matmul
    offsets): the recorded routing, where it came from and its counts, or the balanced fallback
    and why; components sharing one routing are named together."""
    by_text: dict[str, list[str]] = {}
    for c in uniq.values():
        if c is ir.root:
            continue
        for node in ir.inputs(c):
            shape = grouped_mm_rows(node)
            if shape is None:
                continue
            by_text.setdefault(_routing_text(ir, node, *shape), []).append(f"`{paths[c.key]}`")
    return [", ".join(dict.fromkeys(where)) + ": " + text for text, where in by_text.items()]


def _routing_text(ir: IR, node: fx.Node, rows: int, groups: int) -> str:
    recorded = ir.traced.routings.get(node.name)
    runs = ("each step's verification runs the model's own routing on every trial, so this "
            "routing matters only for the component file's own inputs.")
    if recorded is None or recorded.offsets is None:
        why = f" because {recorded.reason}" if recorded is not None and recorded.reason else \
            " because no routing was recorded"
        return (f"the expert offsets (`{node.name}`) that get_inputs() passes are a balanced "
                f"routing (the rows split evenly over the experts: {balanced_counts(rows, groups)} "
                f"of {rows} rows), not one the model's router chose,{why}; " + runs)
    shapes = " and ".join(f"{list(shape)} {dtype.replace('torch.', '')}"
                          for shape, dtype in recorded.inputs)
    weights = ", ".join(f"`{w}`" for w in recorded.weights)
    return (f"the expert offsets (`{node.name}`) that get_inputs() passes are one recorded "
            f"routing: the router of `{recorded.scope}` evaluated on seeded random input of "
            f"shape {shapes} (torch.randn, seed {recorded.seed}), with {weights} "
            f"{recorded.weights_by}. Tokens per expert (rows of the "
            f"grouped matmul): {list(recorded.counts)}, {rows} rows in all (offsets "
            f"{list(recorded.offsets)}); " + runs)

def log_bytes(entries: list[dict[str, Any]]) -> bytes:
    """decomposition_log.json's bytes for these entries (prompts/OUTPUT_SCHEMA.md: the format)."""
    return (json.dumps({"format": DECOMPOSITION_LOG_FORMAT, "entries": entries}, indent=2)
            + "\n").encode()


def lower_log_entry(ir: IR, *, paths: dict[str, str], steps: dict[str, str], timestamp: str,
                    passes: list[str]) -> dict[str, Any]:
    """decomposition_log.json's first entry: how `lower` built the draft and what to review."""
    return {"time": timestamp, "command": "lower",
            "args": {"model": ir.model_file.as_posix(), "class": ir.class_name},
            "front_end": ir.traced.frontend, "passes": passes,
            "components": len(set(paths.values())), "steps": sorted(steps.values()),
            "decisions": review_decisions(ir, paths=paths),
            "loops": [{"function": r.name, "steps": r.steps} for r in ir.traced.loops.values()],
            "specialized_branches": list(ir.traced.specialized),
            "unclassified_ops": sorted(ir.unclassified),
            "verification": "NOT_VERIFIED"}
