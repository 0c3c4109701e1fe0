"""The tree and the files of a decomposition checked against the specification.

Every problem is a `Problem(rule, file, message)`; the rules are stable codes a test or an agent
can match. A directory that is not a decomposition at all is bad input (`UserInputError`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import (ANALYSIS_MD, COMPOSITION_TEST, STEPS_DIR, TREE_JSON, VERIFICATION_DIR,
                             Level)

LEVELS = {lvl.label: lvl for lvl in Level}
COMPONENT_DIRS = [lvl.folder for lvl in Level]

LAYOUT_RULES = {
    "missing_required": "a file or folder the specification requires is missing",
    "tree_invalid": f"{TREE_JSON} is malformed",
    "tree_file_missing": f"a file named in {TREE_JSON} does not exist",
    "component_not_in_tree": f"a component file is not listed in {TREE_JSON}",
    "unknown_child": "a node names a child that is not in the tree",
    "leaf_not_kernel": "a leaf of the tree is not a kernel",
    "kernel_has_children": "a kernel node has children",
    "level_not_decreasing": "a child's level is not below its parent's",
    "wrong_level_folder": "a component file sits in the folder of another level",
    "instance_count": "instance_count differs from the number of nodes using the file",
    "header_level": "the file's 'Abstraction Level:' header differs from its tree level",
    "missing_step": "a node with children names no existing step directory",
    "step_original_mismatch": "a step's original.py differs from the parent's component file",
    "step_child_missing": "a child component file is missing from the step's children/",
    "step_child_mismatch": "a step's children/ copy differs from the component file",
}


@dataclass(frozen=True)
class Problem:
    """One broken rule of the layout (or of another whole-directory check)."""

    rule: str
    message: str
    file: str | None = None

    def one_line(self) -> str:
        loc = f"{self.file}: " if self.file else ""
        return f"{self.rule}: {loc}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "file": self.file, "message": self.message}


def is_decomposition(out_dir: Path) -> None:
    """Raise UserInputError (exit 2) unless out_dir looks like a decomposition."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UserInputError("not a directory", where=str(out_dir),
                             fix="give the output directory of `hdecomp lower` or of an agent")
    if not (out_dir / TREE_JSON).is_file() and not (out_dir / STEPS_DIR).is_dir():
        raise UserInputError(f"not a decomposition: neither {TREE_JSON} nor {STEPS_DIR}/ is there",
                             where=str(out_dir),
                             fix="give the output directory of `hdecomp lower` or of an agent")


def load_tree(out_dir: Path) -> dict[str, Any] | None:
    """decomposition_tree.json, or None when missing or malformed (check_layout reports it)."""
    path = Path(out_dir) / TREE_JSON
    try:
        tree = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), dict):
        return None
    return tree


def root_id(tree: dict[str, Any]) -> str | None:
    """The root node: `root` when present, else the one node no other node names as child."""
    nodes = tree["nodes"]
    if "root" in nodes:
        return "root"
    named = {c for n in nodes.values() for c in (n.get("children") or [])}
    roots = [k for k in nodes if k not in named]
    return roots[0] if len(roots) == 1 else None


def reachable(tree: dict[str, Any]) -> list[str]:
    """Node ids reachable from the root, depth first, each once."""
    nodes = tree["nodes"]
    start = root_id(tree)
    out: list[str] = []
    seen: set[str] = set()
    stack = [start] if start else []
    while stack:
        nid = stack.pop()
        if nid in seen or nid not in nodes:
            continue
        seen.add(nid)
        out.append(nid)
        stack.extend(reversed(nodes[nid].get("children") or []))
    return out


def kernel_instances(tree: dict[str, Any]) -> dict[str, int]:
    """Kernel file path -> number of kernel nodes (instances) using it, reachable from the root."""
    counts: dict[str, int] = {}
    for nid in reachable(tree):
        node = tree["nodes"][nid]
        if node.get("level") == "kernel" and node.get("path"):
            counts[node["path"]] = counts.get(node["path"], 0) + 1
    return counts


_HEADER_LEVEL = re.compile(r"^\s*Abstraction Level:\s*(\w+)", re.MULTILINE)


def header_level(path: Path) -> str | None:
    try:
        head = path.read_text(errors="replace")[:4000]
    except OSError:
        return None
    m = _HEADER_LEVEL.search(head)
    return m.group(1).lower() if m else None


def step_dirs(out_dir: Path) -> list[Path]:
    """steps/step_N_* folders in step-number order."""
    base = Path(out_dir) / STEPS_DIR
    if not base.is_dir():
        return []

    def key(p: Path) -> tuple[int, str]:
        m = re.match(r"step_(\d+)", p.name)
        return (int(m.group(1)) if m else 1 << 30, p.name)

    return sorted((p for p in base.iterdir() if p.is_dir()), key=key)


def check_layout(out_dir: Path) -> list[Problem]:
    """Every layout problem of a decomposition directory."""
    out_dir = Path(out_dir)
    problems: list[Problem] = []
    tree = load_tree(out_dir)
    # A model that is one kernel has nothing to decompose: no steps (and steps/ may be absent).
    single_kernel = tree is not None and not any(
        isinstance(n, dict) and n.get("children") for n in tree["nodes"].values())
    required = [(TREE_JSON, False), (ANALYSIS_MD, False), (Level.KERNEL.folder, True),
                (VERIFICATION_DIR, True), (f"{VERIFICATION_DIR}/{COMPOSITION_TEST}", False)]
    if not single_kernel:
        required.insert(3, (STEPS_DIR, True))
    for rel, is_dir in required:
        path = out_dir / rel
        if not (path.is_dir() if is_dir else path.is_file()):
            problems.append(Problem("missing_required", "required by the specification", rel))
    if (out_dir / Level.KERNEL.folder).is_dir() and not any((out_dir / Level.KERNEL.folder).glob("*.py")):
        problems.append(Problem("missing_required", "no kernel files", Level.KERNEL.folder))
    if tree is None:
        if (out_dir / TREE_JSON).is_file():
            problems.append(Problem("tree_invalid", "not JSON with a 'nodes' object", TREE_JSON))
        return problems
    nodes: dict[str, Any] = tree["nodes"]
    if root_id(tree) is None:
        problems.append(Problem("tree_invalid", "no single root node", TREE_JSON))
    listed: dict[str, int] = {}
    for nid, node in nodes.items():
        if not isinstance(node, dict):
            problems.append(Problem("tree_invalid", f"node {nid!r} is not an object", TREE_JSON))
            continue
        path, level = node.get("path"), node.get("level")
        children = node.get("children") or []
        if level not in LEVELS:
            problems.append(Problem("tree_invalid", f"node {nid!r} has level {level!r}", TREE_JSON))
            continue
        if not path:
            problems.append(Problem("tree_invalid", f"node {nid!r} has no path", TREE_JSON))
        else:
            listed[path] = listed.get(path, 0) + 1
            if not (out_dir / path).is_file():
                problems.append(Problem("tree_file_missing", f"named by node {nid!r}", path))
            else:
                folder = Path(path).parts[0] if len(Path(path).parts) > 1 else ""
                if folder in COMPONENT_DIRS and folder != LEVELS[level].folder:
                    problems.append(Problem("wrong_level_folder",
                                            f"node {nid!r} is a {level} but the file is in {folder}/", path))
                hdr = header_level(out_dir / path)
                if hdr is not None and hdr != level:
                    problems.append(Problem("header_level",
                                            f"header says {hdr}, the tree says {level}", path))
        if not children and level != "kernel":
            problems.append(Problem("leaf_not_kernel", f"node {nid!r} is a {level} with no children", path))
        if children and level == "kernel":
            problems.append(Problem("kernel_has_children", f"node {nid!r}", path))
        for cid in children:
            child = nodes.get(cid)
            if not isinstance(child, dict):
                problems.append(Problem("unknown_child", f"node {nid!r} names child {cid!r}", TREE_JSON))
                continue
            clevel = child.get("level")
            if clevel in LEVELS and LEVELS[clevel] >= LEVELS[level]:
                problems.append(Problem("level_not_decreasing",
                                        f"child {cid!r} ({clevel}) of {nid!r} ({level})", child.get("path")))
        step = node.get("step")
        if children and step is not None and not (out_dir / STEPS_DIR / step).is_dir():
            problems.append(Problem("missing_step", f"node {nid!r} names step {step!r}", f"{STEPS_DIR}/{step}"))
        if children and step is None and path and (out_dir / path).is_file():
            # A tree without `step` fields (an agent's): the step is the one whose original.py
            # is this component file.
            step = step_for_file(out_dir, out_dir / path)
            if step is None:
                problems.append(Problem("missing_step", f"node {nid!r} has children but no step "
                                        "decomposes it (no steps/*/original.py equals its file)", path))
        if children and step and (out_dir / STEPS_DIR / step).is_dir() and path and (out_dir / path).is_file():
            problems.extend(_check_step_copies(out_dir, step, path,
                                               [nodes[c].get("path") for c in children
                                                if isinstance(nodes.get(c), dict)]))
    for path, count in listed.items():
        declared = {n.get("instance_count") for n in nodes.values()
                    if isinstance(n, dict) and n.get("path") == path and "instance_count" in n}
        if declared and declared != {count}:
            problems.append(Problem("instance_count",
                                    f"instance_count {sorted(declared)} but {count} node(s) use it", path))
    for folder in COMPONENT_DIRS:
        for file in sorted((out_dir / folder).glob("*.py")) if (out_dir / folder).is_dir() else []:
            rel = f"{folder}/{file.name}"
            if rel not in listed:
                problems.append(Problem("component_not_in_tree", "no node of the tree names it", rel))
    return _dedup(problems)


def step_for_file(out_dir: Path, component: Path) -> str | None:
    """The step whose original.py has the bytes of this component file (None when none does)."""
    data = component.read_bytes()
    for step_dir in step_dirs(out_dir):
        original = step_dir / "original.py"
        if original.is_file() and original.read_bytes() == data:
            return step_dir.name
    return None


def step_parent(out_dir: Path, tree: dict[str, Any], step_name: str) -> dict[str, Any] | None:
    """A tree node that this step decomposes: by its `step` field, else by original.py's bytes."""
    nodes = tree["nodes"]
    for node in nodes.values():
        if isinstance(node, dict) and node.get("step") == step_name:
            return node
    original = Path(out_dir) / STEPS_DIR / step_name / "original.py"
    if not original.is_file():
        return None
    data = original.read_bytes()
    for node in nodes.values():
        if isinstance(node, dict) and node.get("children") and node.get("path") \
                and (Path(out_dir) / node["path"]).is_file() \
                and (Path(out_dir) / node["path"]).read_bytes() == data:
            return node
    return None


def _check_step_copies(out_dir: Path, step: str, parent_path: str, child_paths: list[str | None]) -> list[Problem]:
    step_dir = out_dir / STEPS_DIR / step
    rel = f"{STEPS_DIR}/{step}"
    problems = []
    original = step_dir / "original.py"
    if original.is_file() and original.read_bytes() != (out_dir / parent_path).read_bytes():
        problems.append(Problem("step_original_mismatch", f"differs from {parent_path}", f"{rel}/original.py"))
    for cpath in dict.fromkeys(p for p in child_paths if p):
        if not (out_dir / cpath).is_file():
            continue
        copy = step_dir / "children" / Path(cpath).name
        if not copy.is_file():
            problems.append(Problem("step_child_missing", f"{cpath} has no copy in children/", rel))
        elif copy.read_bytes() != (out_dir / cpath).read_bytes():
            problems.append(Problem("step_child_mismatch", f"differs from {cpath}",
                                    f"{rel}/children/{copy.name}"))
    return problems


def _dedup(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
