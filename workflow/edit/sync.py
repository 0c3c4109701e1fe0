"""`hdecomp sync DIR`: the tree, the headers and the step copies rebuilt from the files.

The files are the truth: the level folders hold the components, each step's refactored.py says
which children (by import and `self.<attr> = <Alias>()`) a component has. From the root down,
every node is `<parent id>.<attr>` (as `hdecomp lower` names them and the composition check
reads them); shapes come from the component's header; data_flow from forward()'s child calls.
Then every header's Parent/Children/Instances, every original.py and children/ copy are
refreshed. A step whose files changed no longer matches the sha256 its verification_result.json
recorded, so `hdecomp verify` reports it STALE and re-runs it; sync names those steps.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import libcst as cst

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import CHILDREN_DIR, ORIGINAL_FILE, REFACTORED_FILE, STEPS_DIR, Level
from verifier.step_files import step_files
from workflow.edit.files import (assigned_names, called_attr, component_files, header_fields,
                                 header_shapes, level_of, loaded_names, parse_refactored,
                                 set_header_fields, sidecar)
from workflow.edit.session import EditSession
from workflow.layout import root_id, step_dirs


def find_step(out_dir: Path, stem: str, old: dict[str, Any] | None) -> str | None:
    """The step decomposing component `stem`: named `step_N_<stem>_to_*`, else the old node's."""
    for step in step_dirs(out_dir):
        if re.fullmatch(rf"step_\d+_{re.escape(stem)}_to_\w+", step.name):
            return step.name
    if old and old.get("step") and (out_dir / STEPS_DIR / old["step"]).is_dir():
        return old["step"]
    return None


def rebuild_tree(out_dir: Path, old_tree: dict[str, Any]) -> dict[str, Any]:
    """decomposition_tree.json derived from the files (metadata carried over, counts redone)."""
    files = component_files(out_dir)
    old_nodes = old_tree.get("nodes", {})
    rid = root_id(old_tree) or "root"
    root_path = old_nodes.get(rid, {}).get("path")
    if not root_path or not (out_dir / root_path).is_file():
        raise UserInputError("the tree's root component file is missing", where=str(out_dir),
                             fix="restore it, or name the root file in decomposition_tree.json")
    nodes: dict[str, Any] = {}
    flow: list[dict[str, Any]] = []

    def visit(nid: str, path: str, stack: tuple[str, ...]) -> None:
        stem = Path(path).stem
        if stem in stack:
            raise UserInputError(f"component {stem} contains itself", where=path,
                                 fix="fix the children of its step's refactored.py")
        text = (out_dir / path).read_text()
        old = old_nodes.get(nid) if isinstance(old_nodes.get(nid), dict) else None
        ins, in_dt = header_shapes(text, "Input Shapes")
        outs, out_dt = header_shapes(text, "Output Shapes")
        # The tree names inputs by the parent's values, the header by forward()'s parameters:
        # an existing node keeps its own names while its shapes are the header's.
        keep_in = _same_shapes((old or {}).get("input_shapes"), ins)
        keep_out = _same_shapes((old or {}).get("output_shapes"), outs)
        node: dict[str, Any] = {"id": nid, "name": stem,
                                "level": level_of(path) or (old or {}).get("level", "kernel"),
                                "path": path, "instance_count": 1, "children": [],
                                "input_shapes": old["input_shapes"] if keep_in else ins,
                                "output_shapes": old["output_shapes"] if keep_out else outs,
                                "input_dtypes": old.get("input_dtypes") or in_dt if keep_in
                                else in_dt,
                                "output_dtypes": old.get("output_dtypes") or out_dt if keep_out
                                else out_dt}
        if old and old.get("module_path") and old.get("path") == path:
            node["module_path"] = old["module_path"]
        nodes[nid] = node
        step = find_step(out_dir, stem, old) if node["level"] != "kernel" else None
        if step is None:
            return
        node["step"] = step
        where = f"{STEPS_DIR}/{step}/{REFACTORED_FILE}"
        ref = parse_refactored(out_dir / where, where)
        children = []
        for attr, child_stem in ref.children():
            if child_stem not in files:
                raise UserInputError(f"child {child_stem} (self.{attr}) has no component file",
                                     where=where, fix=f"add level_*/{child_stem}.py or fix the import")
            children.append((f"{nid}.{attr}", attr, files[child_stem]))
        node["children"] = [c for c, _, _ in children]
        pos = len(flow)  # a parent's edges come before its children's, as lower writes them
        for cid, _, cpath in children:
            visit(cid, cpath, stack + (stem,))
        flow[pos:pos] = _flow(nid, ref, {a: c for c, a, _ in children}, nodes)

    visit(rid, root_path, ())
    counts: dict[str, int] = {}
    for node in nodes.values():
        counts[node["path"]] = counts.get(node["path"], 0) + 1
    for node in nodes.values():
        node["instance_count"] = counts[node["path"]]
    def shape_of(edges: Any) -> list[tuple]:
        return [(e.get("from"), e.get("to"), str(e.get("shape"))) for e in edges
                if isinstance(e, dict)]

    # Later instances of a shared step carry their own value names in lower's tree; where the
    # edges are the same but for those names, the old ones stand.
    if shape_of(old_tree.get("data_flow") or []) == shape_of(flow):
        flow = list(old_tree["data_flow"])
    meta = dict(old_tree.get("metadata") or {})
    meta["total_components"] = len(nodes)
    meta["by_level"] = {lvl.label: sum(1 for n in nodes.values() if n["level"] == lvl.label)
                        for lvl in reversed(Level)}
    meta["unique_kernels"] = len({n["path"] for n in nodes.values() if n["level"] == "kernel"})
    meta["unique_components"] = len(counts)
    return {"metadata": meta, "nodes": nodes, "data_flow": flow}


def _same_shapes(old: Any, header: dict[str, list[int]]) -> bool:
    """Does the tree's record hold the header's shapes, in order (names aside)? A header
    without shapes (hand-made) leaves the tree's record as it is."""
    if not isinstance(old, dict) or not old:
        return False
    return not header or [list(v) for v in old.values()] == [list(v) for v in header.values()]


def _flow(nid: str, ref: Any, child_of_attr: dict[str, str],
          nodes: dict[str, Any]) -> list[dict[str, Any]]:
    """Edges into each child call of forward(): producer (a child, else the parent itself)."""
    out: list[dict[str, Any]] = []
    if ref.forward is None:
        return out
    producer: dict[str, str] = {}
    for stmt in ref.forward.body.body:
        attr = called_attr(stmt)
        cid = child_of_attr.get(attr or "")
        if cid is not None:
            shapes = list(nodes[cid]["input_shapes"].values())
            dtypes = list(nodes[cid]["input_dtypes"].values())
            seen: set[str] = set()
            args = [n for n in loaded_names(stmt)[1:] if n in producer or n not in ("self",)]
            i = 0
            for name in args:
                if name in seen or name in ("torch", "F", "nn", "math", "self"):
                    continue
                seen.add(name)
                edge = {"from": producer.get(name, nid), "to": cid, "tensor_name": name}
                if i < len(shapes):
                    edge["shape"] = shapes[i]
                if i < len(dtypes):
                    edge["dtype"] = dtypes[i]
                i += 1
                out.append(edge)
        for name in assigned_names(stmt):
            if cid is not None:
                producer[name] = cid
            else:
                producer.pop(name, None)
    return out


def refresh_files(out_dir: Path, tree: dict[str, Any], note: Any) -> None:
    """Headers (Parent, Children, Instances) and every step's original.py and children/ copies
    set from the tree and the component files."""
    nodes = tree["nodes"]
    parent_of: dict[str, str] = {}
    children_of: dict[str, list[str]] = {}
    rid = root_id(tree) or "root"
    order = [rid]
    i = 0
    while i < len(order):  # pre-order from the root, as the generator assigns parents
        node = nodes[order[i]]
        kids = node.get("children") or []
        children_of.setdefault(node["path"], [nodes[c]["name"] for c in kids])
        for c in kids:
            parent_of.setdefault(nodes[c]["path"], node["name"])
        order[i + 1:i + 1] = kids
        i += 1
    for node in nodes.values():
        path = out_dir / node["path"]
        text = path.read_text()
        fields = header_fields(text)
        want = {"Component": node["name"], "Abstraction Level": node["level"],
                "Parent": parent_of.get(node["path"], "root"),
                "Children": str(children_of.get(node["path"], [])),
                "Instances": str(node["instance_count"])}
        want = {k: v for k, v in want.items() if k in fields and fields[k] != v}
        if want:
            path.write_text(set_header_fields(text, want))
            note(f"header: {node['path']}: " + ", ".join(f"{k} -> {v}" for k, v in want.items()))
    files = component_files(out_dir)
    for node in nodes.values():
        step = node.get("step")
        if not step:
            continue
        step_dir = out_dir / STEPS_DIR / step
        _copy(out_dir / node["path"], step_dir / ORIGINAL_FILE, f"{STEPS_DIR}/{step}/{ORIGINAL_FILE}", note)
        wanted = {nodes[c]["name"] for c in node.get("children") or []}
        kids = step_dir / CHILDREN_DIR
        kids.mkdir(exist_ok=True)
        for stem in sorted(wanted):
            _copy(out_dir / files[stem], kids / f"{stem}.py", f"{STEPS_DIR}/{step}/{CHILDREN_DIR}/{stem}.py", note)
        for extra in sorted(kids.glob("*.py")):
            if extra.stem not in wanted and extra.name != "__init__.py":
                extra.unlink()
                sidecar(extra).unlink(missing_ok=True)
                note(f"removed: {STEPS_DIR}/{step}/{CHILDREN_DIR}/{extra.name} (no child imports it)")


def _copy(src: Path, dst: Path, rel: str, note: Any) -> None:
    for a, b in ((src, dst), (sidecar(src), sidecar(dst))):
        if a.is_file() and (not b.is_file() or b.read_bytes() != a.read_bytes()):
            shutil.copyfile(a, b)
            if a == src:
                note(f"copy: {rel} refreshed from {src.parent.name}/{src.name}")


def finish(session: EditSession, old_tree: dict[str, Any], hashes: dict[str, dict[str, str]]) -> None:
    """Rebuild the tree, refresh headers and copies (twice: headers feed copies), note the tree
    changes and the steps whose verification is now stale."""
    out_dir = session.path
    for _ in range(2):
        tree = rebuild_tree(out_dir, old_tree if _ == 0 else tree)  # noqa: F821
        refresh_files(out_dir, tree, session.note)
    tree = rebuild_tree(out_dir, tree)
    old_nodes, new_nodes = old_tree.get("nodes", {}), tree["nodes"]
    for nid in new_nodes:
        if nid not in old_nodes:
            session.note(f"tree: node {nid} added ({new_nodes[nid]['path']})")
        elif {k: v for k, v in old_nodes[nid].items()} != new_nodes[nid]:
            diff = sorted(k for k in set(old_nodes[nid]) | set(new_nodes[nid])
                          if old_nodes[nid].get(k) != new_nodes[nid].get(k))
            session.note(f"tree: node {nid}: {', '.join(diff)} changed")
    for nid in old_nodes:
        if nid not in new_nodes:
            session.note(f"tree: node {nid} removed")
    if old_tree.get("data_flow") != tree["data_flow"]:
        session.note(f"tree: data_flow rebuilt ({len(tree['data_flow'])} edges)")
    if session.changes:
        tree["metadata"]["verification_status"] = "NOT_VERIFIED"
    if json.dumps(tree, sort_keys=True) != json.dumps(old_tree, sort_keys=True):
        session.write_tree(tree)
    for step in step_dirs(out_dir):
        before = hashes.get(step.name)
        if before is not None and before != step_files(step):
            session.note(f"stale: {STEPS_DIR}/{step.name} (its files changed; `hdecomp verify` re-runs it)")


def step_hashes(out_dir: Path) -> dict[str, dict[str, str]]:
    """sha256 of every step's judged files, to tell afterwards which steps an edit touched."""
    return {s.name: step_files(s) for s in step_dirs(out_dir)}


def sync_dir(out_dir: Path) -> list[str]:
    """`hdecomp sync`: rebuild and refresh; returns the change lines (empty: nothing to do),
    then one `stale:` line per step whose verification result no longer matches its files
    (hand edits made before sync count too)."""
    from workflow.edit.log import append_entry
    from workflow.verify_tree import freshness

    with EditSession(out_dir) as session:
        old_tree = session.tree()
        finish(session, old_tree, step_hashes(session.path))
        if session.changes:
            append_entry(session.path, "sync", {"dir": str(out_dir)}, session.changes)
            session.commit()
        changes = list(session.changes)
    named = {line.split()[1] for line in changes if line.startswith("stale: ")}
    for step in step_dirs(Path(out_dir)):
        result, why = freshness(step)
        if result is not None and why.startswith("STALE") and f"{STEPS_DIR}/{step.name}" not in named:
            changes.append(f"stale: {STEPS_DIR}/{step.name} (changed since it was verified; "
                           "`hdecomp verify` re-runs it)")
    return changes
