"""Static anti-cheat: judge refactored.py and every .py under children/ from their source,
never running them.

Rules (each a code in `report.STATIC_RULES`):

- the step: no file under children/ that runs without a source these rules read (.so, .pth,
  .pyc, symlinks) and no child named like a module it would shadow (`forbidden_file`);
- every file (refactored.py, children/ recursively, package __init__.py included): the
  allow-lists of `allowlist` -- imports only torch, torch.nn, torch.nn.functional, math, typing,
  einops and children/; of torch no private names, torch.ops, torch.library, torch.overrides,
  torch.utils, torch.jit …; only allowed builtins and names the file defines; no dunder or
  private attributes, no frame fields, no attribute-reading format templates, no assignments into
  modules it does not own, no file I/O, no re-seeding; sys/os/Path only in the prescribed
  sys.path line and the buffer-sidecar load, sys/traceback only in the self-test harness;
- refactored.py: module level holds imports, `sys.path` set-up, constants, template functions
  (get_inputs …) and the one class `RefactoredModel`; `__init__` instantiates only classes
  imported from children/ (in ModuleList/ModuleDict/Sequential if it likes), registers buffers
  from tensor factories, never nn.Parameter; `forward()`, helper methods and module-level helpers
  hold only child calls and plumbing per the op table (`hdecomp_ir.policy`), no `@`, no state kept
  across calls;
- children: a header docstring with `Abstraction Level:` below the parent's level, a `Model`
  class, not a copy of the original, no overrides of nn.Module's machinery; a package
  __init__.py holds only a docstring, imports and __all__.

The dynamic guard (`instrument.py`) catches whatever this misses; these rules exist to give a
precise file:line and to refuse code before it runs. Layout: `source_common` (name resolution and
the universal rules), `source_parent` (refactored.py), `source_child` (children/); this module
reads the headers and runs them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from hdecomp_ir.spec import Level
from verifier.report import Violation
from verifier.static.allowlist import is_stdlib_or_installed
from verifier.static.source_child import ChildChecker, PackageInitChecker, original_model_code
from verifier.step_files import child_python_files, forbidden_step_files
from verifier.static.source_parent import RefactoredChecker

_LEVEL_RE = re.compile(r"Abstraction Level:\s*([A-Za-z]+)")
_COMPONENT_RE = re.compile(r"Component:\s*(\S+)")


@dataclass
class ChildFile:
    """A children/*.py file as the checker read it."""

    path: Path
    rel: str
    stem: str
    level: Level | None
    component: str | None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.rel, "level": self.level.label if self.level is not None else None,
                "component": self.component}


@dataclass
class StaticReport:
    """What the static pass found."""

    violations: list[Violation] = field(default_factory=list)
    children: dict[str, ChildFile] = field(default_factory=dict)
    original_level: Level | None = None


def read_header(source: str) -> tuple[Level | None, str | None, bool]:
    """(level, component name, header present) from a file's leading docstring."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None, None, False
    doc = module.get_docstring() or ""
    level_match = _LEVEL_RE.search(doc)
    comp_match = _COMPONENT_RE.search(doc)
    level = None
    if level_match:
        try:
            level = Level[level_match.group(1).upper()]
        except KeyError:
            level = None
    return level, comp_match.group(1) if comp_match else None, bool(level_match)


# ---------------------------------------------------------------------------------------------
# Small helpers over libcst nodes


def check_sources(original: Path, refactored: Path, children_dir: Path,
                  step_dir: Path) -> StaticReport:
    """Run every static rule on refactored.py and every .py under children/ (recursively,
    package __init__.py files included), after refusing files that could run unscanned."""
    report = StaticReport()
    for rel, why in forbidden_step_files(step_dir, children_dir=children_dir,
                                         refactored=refactored):
        report.violations.append(Violation("forbidden_file", why, rel, None))
    child_paths = child_python_files(children_dir)
    modules = {path: _module_name(path, children_dir) for path in child_paths}
    stems = {m for p, m in modules.items() if p.name != "__init__.py"}
    for path, name in modules.items():
        top = name.split(".")[0] if name else ""
        if top and is_stdlib_or_installed(top):
            report.violations.append(Violation(
                "forbidden_file", f"`{top}` under children/ shadows the module of that name "
                "(children/ comes first on sys.path); rename it", _rel(path, step_dir), None))
    original_source = original.read_text()
    report.original_level, _, _ = read_header(original_source)
    original_code = original_model_code(original_source)

    ref_rel = _rel(refactored, step_dir)
    checker = RefactoredChecker(ref_rel, _read(refactored, ref_rel, report), child_stems=stems,
                                original_stem=original.stem, is_child=False)
    checker.run()
    report.violations.extend(checker.violations)

    for path in child_paths:
        rel = _rel(path, step_dir)
        package = modules[path].rpartition(".")[0] if path.name != "__init__.py" else modules[path]
        if path.name == "__init__.py":
            init = PackageInitChecker(rel, _read(path, rel, report), child_stems=stems,
                                      original_stem=original.stem, is_child=True, package=package)
            init.run()
            report.violations.extend(init.violations)
            continue
        source = _read(path, rel, report)
        level, component, has_header = read_header(source)
        # No name says what a kernel computes: its ops do, at run time (`semantic_function`).
        report.children[rel] = ChildFile(path, rel, path.stem, level, component)
        child = ChildChecker(rel, source, child_stems=stems, original_stem=original.stem,
                             is_child=True, package=package)
        child.run(original_code)
        report.violations.extend(child.violations)
        if child.module is None:
            continue
        if not has_header or level is None:
            report.violations.append(Violation(
                "missing_level_header", "child file needs a header docstring with "
                "`Abstraction Level: kernel|fusion|layer|model`", rel, 1))
        elif report.original_level is not None and level >= report.original_level:
            report.violations.append(Violation(
                "child_level", f"child is at level {level.label}, not below the parent's "
                f"{report.original_level.label}: each step goes at least one level down", rel, 1))
    return report


def _read(path: Path, rel: str, report: StaticReport) -> str:
    """A step file's text; a file that is not UTF-8 is a violation (and judged as empty), not a
    crash of the verifier."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        report.violations.append(Violation("syntax_error", f"is not UTF-8 text ({err.reason} at "
                                           f"byte {err.start}); save it as UTF-8", rel, None))
        return ""


def _module_name(path: Path, children_dir: Path) -> str:
    """children/sub/k.py -> 'sub.k'; children/sub/__init__.py -> 'sub'; children/__init__.py -> ''."""
    parts = list(path.relative_to(children_dir).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)
