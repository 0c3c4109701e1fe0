"""The textual IR: complete, deterministic, readable. Tests compare it with golden files."""

from __future__ import annotations

from hdecomp_ir.ir import IR, Component, value_type


def _types(ir: IR, nodes: list) -> str:
    return ", ".join(str(value_type(n)) for n in nodes)


def print_component(ir: IR, comp: Component, depth: int = 0) -> list[str]:
    """Lines for one component and its subtree."""
    pad = "  " * depth
    head = [f"{pad}{comp.level.label} {comp.cid}", f'"{comp.label}"', f"[{comp.start}..{comp.end}]"]
    if comp.module_path:
        head.append(f"@{comp.module_path}")
    if comp.name:
        head.append(f"name={comp.name}")
    if comp.instances > 1:
        head.append(f"x{comp.instances}")
    head.append(f"({_types(ir, ir.inputs(comp))}) -> ({_types(ir, ir.outputs(comp))})")
    lines = [" ".join(head)]
    if comp.children:
        for child in comp.children:
            lines.extend(print_component(ir, child, depth + 1))
    if not comp.is_kernel:
        plumbing = [n for n in ir.direct_nodes(comp)]
        if plumbing:
            ops = ", ".join(ir.info(n).name for n in plumbing)
            lines.append(f"{pad}  plumbing: {ops}")
    else:
        ops = ", ".join(ir.info(n).name for n in ir.compute_nodes(comp))
        lines.append(f"{pad}  ops: {ops}")
    return lines


def print_ir(ir: IR) -> str:
    """The whole IR as text."""
    t = ir.traced
    inputs = ", ".join(f"{n}: {value_type(node)}" for n in t.user_inputs
                       for node in t.graph.nodes if node.name == n)
    lines = [f"ir model={ir.model_name} class={ir.class_name} frontend={t.frontend}",
             f"inputs: {inputs}",
             f"ops: {len(ir.ops)} (compute {len(ir.compute)}, other {len(ir.ops) - len(ir.compute)})"]
    if t.specialized:
        lines.append("specialized: " + "; ".join(t.specialized))
    if ir.unclassified:
        lines.append("unclassified: " + ", ".join(sorted(ir.unclassified)))
    lines.extend(print_component(ir, ir.root))
    return "\n".join(lines) + "\n"
