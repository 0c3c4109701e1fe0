"""`hdecomp rename DIR OLD NEW`: one component renamed everywhere it appears.

Moves the component file (and its buffer sidecar), the step folder that decomposes it and every
children/ copy; rewrites the child imports and class aliases of every refactored.py and of
verification/composition_test.py with libcst; replaces the name in decomposition_analysis.md;
then `sync.finish` rebuilds the tree (names, paths, steps) and the headers and copies, and names
the steps whose verification is now stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import libcst as cst

from codegen.files import class_alias
from hdecomp_ir.errors import UserInputError
from hdecomp_ir.naming import component_name_problem
from hdecomp_ir.spec import (ANALYSIS_MD, CHILDREN_DIR, COMPOSITION_TEST, REFACTORED_FILE,
                             STEPS_DIR, VERIFICATION_DIR, WEIGHT_MAP_JSON)
from workflow.edit.files import attr_base, component_files, parse_refactored, sidecar
from workflow.edit.log import append_entry
from workflow.edit.session import EditSession
from workflow.edit.sync import finish, step_hashes
from workflow.layout import step_dirs


def _replace_name(text: str, old: str, new: str) -> str:
    """`old` as a whole word, and inside step folder names (`step_2_<old>_to_kernels`)."""
    text = re.sub(rf"\b(step_\d+_){re.escape(old)}(_to_)", rf"\g<1>{new}\g<2>", text)
    return re.sub(rf"\b{re.escape(old)}\b", new, text)


class _Renamer(cst.CSTTransformer):
    """`from OLD import Model as OldAlias` -> `from NEW import Model as NewAlias`, every use of
    the alias, and the instance attributes named after the component (`self.<attrs key>`)."""

    def __init__(self, old: str, new: str, attrs: dict[str, str] | None = None) -> None:
        self.names = {old: new, class_alias(old): class_alias(new)}
        self.attrs = attrs or {}
        self.changed = False

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        if isinstance(updated.value, cst.Name) and updated.value.value == "self" and \
                updated.attr.value in self.attrs:
            self.changed = True
            return updated.with_changes(attr=cst.Name(self.attrs[updated.attr.value]))
        return updated

    def leave_SimpleString(self, original: cst.SimpleString,
                           updated: cst.SimpleString) -> cst.SimpleString:
        # the step's docstring names the component it decomposes
        old = next(iter(self.names))
        value = _replace_name(updated.value, old, self.names[old])
        if value != updated.value:
            self.changed = True
            return updated.with_changes(value=value)
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if updated.value in self.names:
            self.changed = True
            return updated.with_changes(value=self.names[updated.value])
        return updated


def _attribute_moves(root: Path, old: str, new: str) -> dict[str, dict[str, str]]:
    """Per step folder, the child attributes named after `old` (`self.linear_relu`,
    `self.linear_relu_1` for `linear_relu_16x32_fp32`) and their names after `new`; an attribute
    a person named otherwise, or whose new name is taken, keeps its name."""
    before, after = attr_base(old), attr_base(new)
    out: dict[str, dict[str, str]] = {}
    if before == after:
        return out
    for step in step_dirs(root):
        path = step / REFACTORED_FILE
        if not path.is_file():
            continue
        ref = parse_refactored(path, f"{STEPS_DIR}/{step.name}/{REFACTORED_FILE}")
        attrs = [a for a, _ in ref.attrs]
        moves = {}
        for attr, stem in ref.children():
            m = re.fullmatch(rf"{re.escape(before)}(_\d+)?", attr)
            if stem == old and m:
                target = after + (m.group(1) or "")
                if target not in attrs and target not in moves.values():
                    moves[attr] = target
        if moves:
            out[step.name] = moves
    return out


def _reprefix(wmap: dict[str, Any], moves: dict[str, str]) -> dict[str, Any]:
    """Weight-map values under a moved attribute (`a.w` -> `b.w`)."""
    def one(value: str) -> str:
        head, _, rest = value.partition(".")
        return f"{moves[head]}.{rest}" if head in moves and rest else value
    return {k: [one(v) for v in vals] if isinstance(vals, list) else one(vals)
            for k, vals in wmap.items()}


def _move_ids(tree: dict[str, Any], moves: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The old tree with node ids under a moved attribute renamed, so that the rebuild carries
    each node's metadata over."""
    parents = {nid: moves[n["step"]] for nid, n in tree.get("nodes", {}).items()
               if isinstance(n, dict) and n.get("step") in moves}
    if not parents:
        return tree

    def moved(nid: str) -> str:
        for pid, attrs in parents.items():
            for was, now in attrs.items():
                if nid == f"{pid}.{was}" or nid.startswith(f"{pid}.{was}."):
                    return f"{pid}.{now}" + nid[len(f"{pid}.{was}"):]
        return nid

    nodes = {}
    for nid, node in tree["nodes"].items():
        if isinstance(node, dict):
            node = {**node, "id": moved(nid), "children": [moved(c) for c in node.get("children", [])]}
        nodes[moved(nid)] = node
    flow = [{**e, "from": moved(e.get("from", "")), "to": moved(e.get("to", ""))}
            if isinstance(e, dict) else e for e in tree.get("data_flow") or []]
    return {**tree, "nodes": nodes, "data_flow": flow}


def rename_component(out_dir: Path, old: str, new: str) -> list[str]:
    """Rename component `old` to `new`; returns the change lines."""
    with EditSession(out_dir) as session:
        root = session.path
        files = component_files(root)
        if old not in files:
            import difflib

            near = difflib.get_close_matches(old, list(files), n=3)
            raise UserInputError(f"no component named {old!r}", where=str(out_dir),
                                 fix=f"did you mean {', '.join(near)}?" if near else
                                 "give a component file's stem, as the tree's `name` says")
        problem = component_name_problem(new)
        if problem:
            raise UserInputError(f"invalid component name {new!r}: {problem}", where=str(out_dir),
                                 fix="choose another name")
        if new in files:
            raise UserInputError(f"a component named {new!r} already exists ({files[new]})",
                                 where=str(out_dir), fix="choose another name")
        old_tree = session.tree()
        hashes = step_hashes(root)
        # 1. files and folders
        src = root / files[old]
        dst = src.with_name(f"{new}.py")
        src.rename(dst)
        if sidecar(src).is_file():
            sidecar(src).rename(sidecar(dst))
        session.note(f"moved: {files[old]} -> {dst.relative_to(root)}")
        step_moves: dict[str, str] = {}
        for step in step_dirs(root):
            m = re.fullmatch(rf"(step_\d+_){re.escape(old)}(_to_\w+)", step.name)
            if m:
                target = step.with_name(f"{m.group(1)}{new}{m.group(2)}")
                if target.exists():
                    raise UserInputError(f"step folder {target.name} already exists",
                                         where=str(out_dir), fix="choose another name")
                step.rename(target)
                step_moves[step.name] = target.name
                session.note(f"moved: {STEPS_DIR}/{step.name} -> {STEPS_DIR}/{target.name}")
        for step in step_dirs(root):
            copy = step / CHILDREN_DIR / f"{old}.py"
            if copy.is_file():
                copy.rename(copy.with_name(f"{new}.py"))
                if sidecar(copy).is_file():
                    sidecar(copy).rename(sidecar(copy.with_name(f"{new}.py")))
        # 2. imports and aliases
        sources = [s / REFACTORED_FILE for s in step_dirs(root)]
        sources.append(root / VERIFICATION_DIR / COMPOSITION_TEST)
        attr_moves = _attribute_moves(root, old, new)
        for path in sources:
            if not path.is_file():
                continue
            moves = attr_moves.get(path.parent.name, {}) if path.name == REFACTORED_FILE else {}
            renamer = _Renamer(old, new, moves)
            try:
                module = cst.parse_module(path.read_text()).visit(renamer)
            except cst.ParserSyntaxError:
                raise UserInputError("cannot parse", where=str(path.relative_to(root)),
                                     fix="fix the file, then rename again") from None
            if renamer.changed:
                path.write_text(module.code)
                session.note(f"imports: {path.relative_to(root)}: {old} -> {new}")
            for was, now in moves.items():
                session.note(f"attribute: {path.relative_to(root)}: self.{was} -> self.{now}")
            wmap = path.parent / WEIGHT_MAP_JSON
            if moves and wmap.is_file():
                wmap.write_text(json.dumps(_reprefix(json.loads(wmap.read_text()), moves),
                                           indent=2) + "\n")
        analysis = root / ANALYSIS_MD
        if analysis.is_file():
            text = analysis.read_text()
            updated = _replace_name(text, old, new)
            if updated != text:
                analysis.write_text(updated)
                session.note(f"report: {ANALYSIS_MD}: {old} -> {new}")
        # 3. the tree's paths and steps, then the rebuild from the files
        old_tree = _move_ids(old_tree, {step_moves.get(k, k): v for k, v in attr_moves.items()})
        for node in old_tree["nodes"].values():
            if isinstance(node, dict):
                if node.get("path") == files[old]:
                    node["path"] = str(dst.relative_to(root))
                if node.get("step") in step_moves:
                    node["step"] = step_moves[node["step"]]
        finish(session, old_tree, {step_moves.get(k, k): v for k, v in hashes.items()})
        append_entry(root, "rename", {"dir": str(out_dir), "old": old, "new": new},
                     session.changes)
        session.commit()
        return session.changes
