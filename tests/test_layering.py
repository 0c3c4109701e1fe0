"""The layering of the packages: which stage may import which (docs/ARCHITECTURE.md).

Every import counts, those inside functions included: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from fixture_paths import TESTS

REPO = TESTS.parent

# Each package of ours and the packages of ours it may import (itself always allowed).
ALLOWED: dict[str, frozenset[str]] = {
    "hdecomp_ir": frozenset(),
    "tensors": frozenset({"hdecomp_ir"}),
    "frontend": frozenset({"hdecomp_ir", "tensors"}),
    "passes": frozenset({"hdecomp_ir"}),
    "codegen": frozenset({"hdecomp_ir"}),
    "verifier": frozenset({"hdecomp_ir", "tensors", "frontend"}),
    "workflow": frozenset({"hdecomp_ir", "tensors", "frontend", "passes", "codegen", "verifier"}),
    "hdecomp": frozenset({"hdecomp_ir", "tensors", "frontend", "passes", "codegen", "verifier",
                          "workflow"}),
}


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a module, at any depth."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def layer_violations(root: Path) -> list[str]:
    """`file:line: pkg imports other` for every import that crosses the layering."""
    problems = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            if "templates" in path.relative_to(root / package).parts:
                continue  # templates are generated code's skeletons, not part of the package
            tree = ast.parse(path.read_text(), filename=str(path))
            for line, top in _imported(tree):
                if top in ALLOWED and top != package and top not in allowed:
                    problems.append(f"{path.relative_to(root)}:{line}: {package} imports {top}")
    return problems


def test_every_package_is_listed() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages - {"tests"} == set(ALLOWED)


def test_no_import_crosses_the_layering() -> None:
    assert layer_violations(REPO) == []


def test_a_forbidden_import_is_found(tmp_path: Path) -> None:
    for package in ALLOWED:
        shutil.copytree(REPO / package, tmp_path / package)
    ir = tmp_path / "hdecomp_ir" / "ir.py"
    # hidden inside a function, where a reader would not look
    ir.write_text(ir.read_text() + "\n\ndef _late() -> None:\n    from passes import PIPELINE\n")
    codegen = tmp_path / "codegen" / "emit.py"
    codegen.write_text(codegen.read_text() + "\nimport verifier.engine\n")
    problems = sorted(layer_violations(tmp_path))
    assert len(problems) == 2
    assert problems[0].startswith("codegen/emit.py:") and problems[0].endswith("codegen imports verifier")
    assert problems[1].startswith("hdecomp_ir/ir.py:") and problems[1].endswith("hdecomp_ir imports passes")
