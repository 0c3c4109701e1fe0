"""The template files of generated modules, and the composition test they make, run for real.

Templates are real Python files filled through libcst (codegen/template.py); the composition
test built from one transfers weights and compares outputs with hdecomp's own helpers
(tensors/), so it is executed here, passing and failing, rather than only read.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest
import torch
from torch import nn

from codegen.render import Scope, literal
from codegen.template import fill, is_placeholder, load, placeholders, snippet, template_names
from fixture_paths import MODELS, TESTS
from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import COMPOSITION_ATOL
from tensors.collect import copy_mapped

TEMPLATES = TESTS.parent / "codegen" / "templates"


@pytest.mark.parametrize("name", template_names())
def test_every_template_parses_on_its_own(name: str) -> None:
    text = (TEMPLATES / f"{name}.py").read_text()
    module = cst.parse_module(text)
    assert module.code == text  # libcst keeps it all, so what is filled is what is written
    ast.parse(text, filename=f"{name}.py")
    assert placeholders(module) or name == "run_tests", "a template without placeholders"


def test_templates_are_shipped_with_the_package() -> None:
    config = configparser.ConfigParser()
    config.read(TESTS.parent / "setup.cfg")
    patterns = config["options.package_data"]["codegen"].split()
    names = [f"templates/{n}.py" for n in template_names()]
    assert names and all(any(fnmatch.fnmatch(n, p) for p in patterns) for n in names)


def test_placeholders_are_dunder_names_but_not_pythons_own() -> None:
    assert is_placeholder("__forward_body__")
    assert not is_placeholder("__init__") and not is_placeholder("__name__")
    assert not is_placeholder("ALLOW_INF") and not is_placeholder("_BUFFERS")


def test_a_value_missing_or_left_over_is_refused() -> None:
    with pytest.raises(LookupError, match="__alias__"):
        snippet("child_import", __stem__=cst.Name("relu_fp32"))
    with pytest.raises(LookupError, match="__extra__"):
        snippet("model_alias", __model_class__=cst.Name("Net"), __extra__=cst.Name("x"))
    with pytest.raises(LookupError, match="no snippet"):
        snippet("nothing_of_the_kind")


def test_statement_and_parameter_placeholders_take_lists() -> None:
    code = fill("refactored", __docstring__=cst.SimpleString('"""Doc."""'),
                __child_imports__=[], __init_body__=[], __params__=[],
                __forward_body__=[cst.SimpleStatementLine([cst.Return(cst.Integer("1"))])],
                __inputs__=cst.List([])).code
    assert code.startswith('"""Doc."""\n\nimport sys\n')  # the template's comment is dropped
    assert "    def forward(self):\n        return 1\n" in code
    assert '/ "children"))\n\n\nclass RefactoredModel' in code  # empty list: the line is gone
    assert not placeholders(cst.parse_module(code))
    assert load("refactored") is load("refactored")  # parsed once


# --- the composition test, executed ----------------------------------------------------------

@pytest.fixture(scope="module")
def lowered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("composition") / "tiny_mlp"
    proc = subprocess.run([sys.executable, "-m", "hdecomp.cli", "lower",
                           str(MODELS / "tiny_mlp.py"), "-o", str(out), "--no-verify"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def run_composition(out: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(out / "verification" / "composition_test.py")],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_composition_test_uses_hdecomps_helpers(lowered: Path) -> None:
    source = (lowered / "verification" / "composition_test.py").read_text()
    assert "from tensors.collect import copy_mapped" in source
    assert "from tensors.compare import compare" in source
    assert "def transfer" not in source and "allclose" not in source


def test_composition_test_passes_run_from_anywhere(lowered: Path, tmp_path: Path) -> None:
    proc = run_composition(lowered, cwd=tmp_path)
    lines = proc.stdout.split()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines[-2].startswith("max_difference=") and lines[-1] == "PASS"
    from workflow.step_loop import run_composition as step_loop_run

    # hdecomp's own check (separate processes, one thread) agrees within the tolerance; the
    # editable file is what a user runs by hand, never what decides.
    passed, detail = step_loop_run(lowered)
    assert passed and detail.startswith("max_difference="), detail
    assert float(detail.split("=")[1]) <= COMPOSITION_ATOL
    assert float(lines[-2].split("=")[1]) <= COMPOSITION_ATOL


def test_composition_test_fails_on_a_wrong_kernel(lowered: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(lowered), str(broken)], check=True)
    kernel = broken / "level_0_kernel" / "linear_32x16_fp32.py"
    text = kernel.read_text()
    assert "        return linear\n" in text
    # the second linear's weight scaled by 1.01, as a wrong kernel would
    kernel.write_text(text.replace("        return linear\n",
                                   "        return F.linear(x, self.linear.weight * 1.01, "
                                   "self.linear.bias)\n"))
    proc = run_composition(broken, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.split()[-1] == "FAIL"
    assert "out: max_abs_diff=" in proc.stdout  # the leaf that differs is named


# --- the weight transfer and the errors of codegen --------------------------------------------

class _Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight
        self.norm = nn.BatchNorm1d(3)
        self.h0 = torch.randn(2, 3)  # a plain tensor attribute: state the forward reads


class _Flat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.zeros(5, 3))
        self.b = nn.Parameter(torch.zeros(5, 3))
        self.register_buffer("mean", torch.zeros(3))
        self.register_buffer("state", torch.zeros(2, 3), persistent=False)


def test_copy_mapped_reads_tied_names_buffers_and_plain_attributes() -> None:
    original, flat = _Tied(), _Flat()
    original.norm.running_mean.normal_()
    copy_mapped(original, flat, {"head.weight": ["a", "b"], "norm.running_mean": "mean",
                                 "h0": "state"})
    assert torch.equal(flat.a, original.emb.weight) and torch.equal(flat.b, original.emb.weight)
    assert torch.equal(flat.mean, original.norm.running_mean)
    assert torch.equal(flat.state, original.h0)


@pytest.mark.parametrize("wmap, what", [({"nope": "a"}, "'nope', which the original"),
                                        ({"h0": "nope"}, "'nope', which the composed"),
                                        ({"h0": "a"}, r"'h0' \[2, 3\] to 'a' \[5, 3\]")])
def test_copy_mapped_names_the_entry_that_does_not_fit(wmap: dict, what: str) -> None:
    with pytest.raises(UserInputError, match=what):
        copy_mapped(_Tied(), _Flat(), wmap)


def test_an_argument_without_python_form_is_a_user_error() -> None:
    with pytest.raises(UserInputError, match="model.py: op add") as info:
        literal(object(), Scope(where="model.py: op add of relu"))
    assert info.value.exit_code == 2 and info.value.fix


# --- the self-test harness, executed -------------------------------------------------------------

class _Nested(nn.Module):
    def forward(self, x: torch.Tensor) -> dict:
        return {"a": (x, [x[:2], 3]), "b": x.sum(0)}


@pytest.mark.parametrize("shapes,passes", [([(4, 3), (2, 3), (3,)], True),
                                           ([(4, 3), (3,), (2, 3)], False)])
def test_run_tests_harness_checks_nested_outputs_in_order(shapes: list, passes: bool,
                                                         capsys: pytest.CaptureFixture) -> None:
    source = (TEMPLATES / "run_tests.py").read_text()
    # of torch, the harness uses only public names: the allow-list source rules read it
    assert "torch._" not in source and "torch.utils" not in source and "torch.ops" not in source
    namespace = {"torch": torch, "Model": _Nested, "get_inputs": lambda: [torch.randn(4, 3)],
                 "get_init_inputs": lambda: [], "get_expected_output_shape": lambda: shapes,
                 "ALLOW_INF": False, "__name__": "harness"}
    exec(compile(source, "run_tests.py", "exec"), namespace)  # noqa: S102 - our own template
    assert namespace["run_tests"]() is passes
    assert capsys.readouterr().out.splitlines()[-1 if passes else 0].startswith(
        "PASS" if passes else "FAIL")
