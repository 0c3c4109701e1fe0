"""Static rules on small sources: what the parent may and may not write."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from verifier.static.source_rules import check_sources

ORIGINAL = '''"""
Component: block
Abstraction Level: layer
"""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.tanh(torch.relu(x))


def get_inputs():
    return [torch.randn(2, 8)]
'''

CHILD = '''"""
Component: relu
Abstraction Level: kernel
"""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)
'''

HEAD = '''import math
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "children"))

import torch
import torch.nn as nn
import torch.nn.functional as F

from relu_fp32 import Model as Relu

SCALE = 0.5
DTYPE = torch.float32

'''


def rules_for(tmp_path: Path, body: str, child: str = CHILD) -> list[tuple[str, int | None]]:
    (tmp_path / "children").mkdir(exist_ok=True)
    (tmp_path / "original.py").write_text(ORIGINAL)
    (tmp_path / "children" / "relu_fp32.py").write_text(child)
    (tmp_path / "refactored.py").write_text(HEAD + textwrap.dedent(body))
    report = check_sources(tmp_path / "original.py", tmp_path / "refactored.py",
                           tmp_path / "children", tmp_path)
    return [(v.rule, v.line) for v in report.violations]


def wrap(forward: str, init: str = "self.act = Relu()") -> str:
    return f'''
class RefactoredModel(nn.Module):
    def __init__(self, t=4):
        super().__init__()
        {init}

    def forward(self, x):
{textwrap.indent(textwrap.dedent(forward).strip(), "        ")}
'''


ALLOWED = [
    "return self.act(x)",
    "return self.act(x) + x * SCALE - x / math.sqrt(8.0)",
    "a, b = x.chunk(2, dim=-1)\nreturn torch.cat([self.act(a), b], dim=-1).contiguous()",
    "y = self.act(x).reshape(2, 2, 4).permute(0, 2, 1)\nreturn y.flatten(1)",
    "y = self.act(x)\nreturn y.masked_fill(y == 0, float('-inf')) if False else y",
    "outs = []\nfor part in x.split(4, dim=-1):\n    outs.append(self.act(part))\nreturn torch.stack(outs)",
    "n = x.shape[-1] // 2\nreturn self.act(x[..., :n]).to(torch.float32)",
    "mask = torch.tril(torch.ones(2, 2, dtype=torch.bool))\nreturn self.act(x), mask",
    "return F.pad(self.act(x), (1, 1)).unsqueeze(0).expand(3, -1, -1)",
    "y = self.act(x)\ny[..., 0] = x[..., 0]\nreturn y",
]


@pytest.mark.parametrize("forward", ALLOWED)
def test_plumbing_forward_is_allowed(tmp_path: Path, forward: str) -> None:
    assert rules_for(tmp_path, wrap(forward)) == []


FORBIDDEN = [
    ("return F.softmax(self.act(x), -1)", "compute_op"),
    ("return torch.einsum('ij->ji', x)", "compute_op"),
    ("return self.act(x).sum(-1)", "compute_op"),
    ("return self.act(x) @ x.T", "matmul_operator"),
    ("fn = torch.tanh\nreturn fn(x)", "alias"),
    ("return (lambda t: t)(self.act(x))", "forbidden_construct"),
    ("try:\n    return self.act(x)\nexcept Exception:\n    return x", "forbidden_construct"),
    ("with torch.no_grad():\n    return self.act(x)", "forbidden_construct"),
    ("self.last = x\nreturn self.act(x)", "stateful_forward"),
    ("return self.act.forward(x)", "reaches_into_child"),
    ("return x * self.act.weight", "reaches_into_child"),
    ("self.eval()\nreturn self.act(x)", "overrides_module_api"),
    ("return vars(self)['act'](x)", "dynamic_code"),
    ("return self.act(x).numpy()", "compute_op"),
    ("return get_inputs()[0]", "compute_op"),
]


@pytest.mark.parametrize("forward, rule", FORBIDDEN)
def test_compute_and_tricks_in_forward_are_refused(tmp_path: Path, forward: str, rule: str) -> None:
    found = rules_for(tmp_path, wrap(forward) + "\n\ndef get_inputs():\n    return [torch.randn(2, 8)]\n")
    assert rule in [r for r, _line in found], found
    assert all(line is not None for _r, line in found)


INIT_CASES = [
    ("self.act = Relu()\n        self.register_buffer('mask', torch.zeros(4, 4, dtype=torch.bool), persistent=False)", None),
    ("self.blocks = nn.ModuleList([Relu() for _ in range(t)])", None),
    ("self.blocks = nn.ModuleDict({'a': Relu()})\n        self.seq = nn.Sequential(Relu(), Relu())", None),
    ("self.act = Relu()\n        self.scale = 1.0 / math.sqrt(t)", None),
    ("self.act = nn.ReLU()", "raw_module_in_init"),
    ("self.act = torch.nn.modules.linear.Linear(2, 2)", "raw_module_in_init"),
    ("self.w = nn.Parameter(torch.ones(2))", "parameter_in_init"),
    ("self.register_parameter('w', None)", "parameter_in_init"),
    ("self.act = Relu()\n        self.noise = torch.randn(4)", "init_call"),
    ("self.act = Relu()\n        torch.nn.init.normal_(self.act.x)", "init_call"),
]


@pytest.mark.parametrize("init, rule", INIT_CASES)
def test_init_rules(tmp_path: Path, init: str, rule: str | None) -> None:
    found = [r for r, _line in rules_for(tmp_path, wrap("return x", init=init))]
    assert (found == []) if rule is None else (rule in found), found


MODULE_CASES = [
    ("import numpy as np\n", "forbidden_import"),
    ("import subprocess\n", "forbidden_import"),
    ("from importlib import import_module\n", "forbidden_import"),
    ("import hdecomp_ir\n", "imports_verifier"),
    ("from original import Model as Original\n", "imports_original"),
    ("print('hello')\n", "module_level_code"),
    ("for i in range(2):\n    pass\n", "module_level_code"),
    ("TABLE = {'relu': F.relu}\n", "alias"),
    ("torch.nn.functional.relu = torch.tanh\n", "monkeypatch"),
    ("os.environ['X'] = '1'\n", "file_io"),
    ("open('x.txt', 'w')\n", "file_io"),
    ("random_state = torch.get_rng_state()\n", "module_level_code"),
    ("exec('x = 1')\n", "dynamic_code"),
]


@pytest.mark.parametrize("module_code, rule", MODULE_CASES)
def test_module_level_rules(tmp_path: Path, module_code: str, rule: str) -> None:
    found = [r for r, _line in rules_for(tmp_path, module_code + wrap("return self.act(x)"))]
    assert rule in found, found


def test_try_import_and_main_guard_are_allowed(tmp_path: Path) -> None:
    body = '''
try:
    from children.relu_fp32 import Model as Relu2
except ImportError:
    from relu_fp32 import Model as Relu2
''' + wrap("return self.act(x)") + '''

if __name__ == "__main__":
    print(RefactoredModel()(torch.randn(2, 8)).shape)
'''
    assert rules_for(tmp_path, body) == []


CHILD_CASES = [
    (CHILD.replace("return torch.relu(x)", "return torch.relu(x) + torch.load('ref.pt')"), "file_io"),
    (CHILD.replace("import torch\n", "import torch\nimport ctypes\n"), "forbidden_import"),
    (CHILD.replace("return torch.relu(x)", "return getattr(torch, 'relu')(x)"), "dynamic_code"),
    (CHILD.replace("return torch.relu(x)", "torch.manual_seed(0)\n        return torch.relu(x)"), "reseed"),
    (CHILD.replace("class Model(", "class Kernel("), "missing_class"),
    (CHILD.replace("Abstraction Level: kernel", "Abstraction Level: layer"), "child_level"),
    (CHILD.replace("import torch\n", "import torch\nimport einops\n"), None),
    (CHILD.replace("return torch.relu(x)", "return F.relu(x.float().reshape(-1)).view_as(x)").replace(
        "import torch\n", "import torch\nimport torch.nn.functional as F\n"), None),
]


@pytest.mark.parametrize("child, rule", CHILD_CASES)
def test_child_rules(tmp_path: Path, child: str, rule: str | None) -> None:
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=child)]
    assert (found == []) if rule is None else (rule in found), found


SIDECAR_CHILD = '''"""
Component: masked_fill
Abstraction Level: kernel
"""
import torch
import torch.nn as nn
from pathlib import Path

_BUFFERS = torch.load(Path(__file__).with_suffix('.buffers.pt'), weights_only=True)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mask", _BUFFERS["mask"].clone(), persistent=True)

    def forward(self, x):
        return x.masked_fill(self.mask, 0.0)
'''


@pytest.mark.parametrize("child, rule", [
    (SIDECAR_CHILD, None),
    (SIDECAR_CHILD.replace(", weights_only=True", ""), "file_io"),
    (SIDECAR_CHILD.replace("Path(__file__).with_suffix('.buffers.pt')", "'/tmp/expected.pt'"), "file_io"),
    (SIDECAR_CHILD.replace("return x.masked_fill(self.mask, 0.0)", "return _BUFFERS['output']"), "file_io"),
    (SIDECAR_CHILD.replace("_BUFFERS = torch.load", "def _load():\n    return torch.load").replace(
        ", weights_only=True)", ", weights_only=True)\n\n\n_BUFFERS = _load()"), "file_io"),
])
def test_sidecar_buffer_file_only_feeds_buffers(tmp_path: Path, child: str, rule: str | None) -> None:
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=child)]
    assert (found == []) if rule is None else (rule in found), found


HARNESS = '''

def run_tests():
    try:
        import traceback
        out = Model()(torch.randn(2, 8))
        leaves = [out]
        return bool(leaves)
    except Exception:
        traceback.print_exc()
        return False


if __name__ == "__main__":
    import sys
    sys.exit(0 if run_tests() else 1)
'''


def test_component_test_harness_is_allowed_but_not_callable_from_the_model(tmp_path: Path) -> None:
    assert rules_for(tmp_path, wrap("return self.act(x)"), child=CHILD + HARNESS) == []
    sneaky = CHILD.replace("return torch.relu(x)", "run_tests()\n        return torch.relu(x)")
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=sneaky + HARNESS)]
    assert "forbidden_construct" in found
    harness_cheat = HARNESS.replace("import traceback", "import traceback\n        eval('1')")
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=CHILD + harness_cheat)]
    assert "dynamic_code" in found


@pytest.mark.parametrize("expr, rule", [
    ("torch.os.system('true')", "dynamic_code"),
    ("torch.sys.modules", "dynamic_code"),
    ("x.detach().numpy().tofile('../result.json')", "file_io"),
    ("torch.serialization.save(x, 'out.pt')", "file_io"),
    ("torch.multiprocessing.Process(target=print).start()", "file_io"),
])
def test_children_cannot_reach_the_system(tmp_path: Path, expr: str, rule: str) -> None:
    child = CHILD.replace("return torch.relu(x)", f"{expr}\n        return torch.relu(x)").replace(
        "import torch\n", "import math\n\nimport torch\n")
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=child)]
    assert rule in found, found


# -- issue 12: allow-list rules over every file under the step


@pytest.mark.parametrize("imports, expr, rule", [
    ("from sys import _getframe\n", "_getframe(0)", "private_access"),
    ("from sys import modules\n", "modules.get('torch')", "forbidden_import"),
    ("from os import listdir\n", "listdir('.')", "forbidden_import"),
    ("from operator import attrgetter\n", "attrgetter('relu')(torch)", "forbidden_import"),
    ("import builtins\n", "builtins.max", "forbidden_import"),
    ("import functools\n", "functools.partial", "forbidden_import"),
    ("from torch import ops\n", "ops", "forbidden_api"),
    ("from torch import _C\n", "_C", "private_access"),
    ("from torch.utils import cpp_extension\n", "cpp_extension", "forbidden_import"),
    ("import torch.utils.checkpoint\n", "torch.utils.checkpoint.checkpoint(torch.relu, x)", "forbidden_api"),
    ("from typing import get_type_hints\n", "get_type_hints(Model)", "forbidden_api"),
    ("", "torch.overrides.TorchFunctionMode", "forbidden_api"),
    ("", "torch.library.Library('aten', 'IMPL')", "forbidden_api"),
    ("", "torch.autograd.graph.saved_tensors_hooks(print, print)", "forbidden_api"),
    ("", "torch.jit.script(torch.relu)", "forbidden_api"),
    ("", "torch.fx.symbolic_trace(self)", "forbidden_api"),
    ("", "torch.set_default_dtype(torch.float64)", "forbidden_api"),
    ("", "torch.ops.aten.relu.default(x)", "forbidden_api"),
    ("", "type(x)", "dynamic_code"),
    ("", "object()", "dynamic_code"),
    ("", "dir(torch)", "dynamic_code"),
    ("", "exit()", "dynamic_code"),
    ("", "undefined_helper(x)", "forbidden_name"),
    ("", "bytearray(4)", "forbidden_name"),
    ("", "__builtins__", "dynamic_code"),
    ("", "__loader__", "dynamic_code"),
    ("", "__package__", "private_access"),
    ("", "'{0.__class__}'.format(x)", "dynamic_code"),
    ("", "'{0[0]}'.format(x)", "dynamic_code"),
    ("", "str.format('{}', x)", "dynamic_code"),
    ("", "hasattr(x, 'sh' + 'ape')", "dynamic_code"),
    ("", "(i for i in []).gi_frame", "private_access"),
    ("", "x.grad_fn.f_back", "private_access"),
    ("", "self._forward_hooks", "private_access"),
    ("", "self._modules", "private_access"),
    ("", "Path(__file__).parent", "file_io"),
])
def test_allow_list_refuses(tmp_path: Path, imports: str, expr: str, rule: str) -> None:
    child = CHILD.replace("return torch.relu(x)", f"y = {expr}\n        return torch.relu(x)").replace(
        "import torch\n", imports + "from pathlib import Path\nimport torch\n", 1)
    found = rules_for(tmp_path, wrap("return self.act(x)"), child=child)
    assert rule in [r for r, _line in found], found
    assert all(line is not None for r, line in found if r == rule), found


@pytest.mark.parametrize("imports, expr", [
    ("from typing import Optional, Tuple\n", "Optional[Tuple[int, int]]"),
    ("import math\n", "math.sqrt(2.0) * math.pi"),
    ("from math import sqrt\n", "sqrt(2.0)"),
    ("from einops import rearrange, repeat\n", "repeat(rearrange(x, 'a b -> b a'), 'b a -> b a c', c=2)"),
    ("from torch.nn.utils.rnn import pad_sequence\n", "pad_sequence([x, x])"),
    ("import torch.nn.functional as F\nfrom torch import Tensor, nn\n", "F.gelu(x) + nn.Identity()(x)"),
    ("from torch.nn import functional as F\n", "F.softmax(x, -1)"),
    ("", "torch.special.expit(x) + torch.linalg.vector_norm(x) + torch.fft.rfft(x).abs().sum()"),
    ("", "torch.autograd.Function"),
    ("", "torch.jit.is_scripting()"),
    ("", "torch.cuda.is_available()"),
    ("", "'{} and {name:.3f}'.format(1, name=2.0)"),
    ("", "hasattr(x, 'shape') and isinstance(x, torch.Tensor) and len(x.shape) == 2"),
    ("", "self.training"),
    ("", "[v for v in range(3)] + list(zip([1], [2]))"),
])
def test_allow_list_accepts_model_code(tmp_path: Path, imports: str, expr: str) -> None:
    child = CHILD.replace("return torch.relu(x)", f"y = {expr}\n        return torch.relu(x)").replace(
        "import torch\n", imports + "import torch\n", 1)
    assert rules_for(tmp_path, wrap("return self.act(x)"), child=child) == []


@pytest.mark.parametrize("method, rule", [
    ("def __torch_function__(self, func, types, args=(), kwargs=None):\n        return func(*args)", "private_access"),
    ("def __call__(self, x):\n        return x", "private_access"),
    ("def __getattr__(self, name):\n        return 1", "private_access"),
    ("def _call_impl(self, *args):\n        return args[0]", "private_access"),
    ("def state_dict(self, *args, **kwargs):\n        return {}", "overrides_module_api"),
    ("def named_parameters(self, *args, **kwargs):\n        return iter([])", "overrides_module_api"),
    ("def extra_repr(self):\n        return 'relu'", None),
    ("def _helper(self, x):\n        return x", None),
])
def test_child_classes_may_not_override_the_machinery(tmp_path: Path, method: str, rule: str | None) -> None:
    child = CHILD.replace("    def forward(self, x):", f"    {method}\n\n    def forward(self, x):")
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=child)]
    assert (found == []) if rule is None else (rule in found), found


@pytest.mark.parametrize("line, ok", [
    ('sys.path.insert(0, str(Path(__file__).parent / "children"))', True),
    ('sys.path.insert(0, str(Path(__file__).resolve().parent / "children"))', True),
    ('sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "children"))', True),
    ('sys.path.insert(0, str(Path(__file__).parent.parent))', False),
    ('sys.path.insert(0, str(Path(__file__).parent / "lib"))', False),
    ('sys.path.insert(0, "/tmp")', False),
    ('sys.path[:0] = [str(Path(__file__).parent / "children")]', False),
    ('sys.modules.clear()', False),
])
def test_only_the_prescribed_sys_path_line(tmp_path: Path, line: str, ok: bool) -> None:
    found = rules_for(tmp_path, line + "\n" + wrap("return self.act(x)"))
    assert (found == []) if ok else found != [], found


def test_harness_is_only_the_exact_main_guard_and_run_tests(tmp_path: Path) -> None:
    sneaky_guard = CHILD + '\n\nif __name__ != "__main__":\n    import sys\n    sys.modules.clear()\n'
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=sneaky_guard)]
    assert "forbidden_import" in found and "dynamic_code" in found, found
    executed = CHILD + '\n\ndef get_init_inputs():\n    import sys\n    return [sys.modules]\n'
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=executed)]
    assert "forbidden_import" in found, found
    decorated = CHILD + HARNESS.replace("def run_tests():", "@print\ndef run_tests():")
    found = [r for r, _line in rules_for(tmp_path, wrap("return self.act(x)"), child=decorated)]
    assert "forbidden_import" in found, found


def test_every_file_under_children_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "children" / "sub").mkdir(parents=True)
    (tmp_path / "children" / "__init__.py").write_text('"""Kernels."""\nimport torch\n\ntorch.relu = torch.tanh\n')
    (tmp_path / "children" / "sub" / "__init__.py").write_text("")
    (tmp_path / "children" / "sub" / "tanh_fp32.py").write_text(CHILD.replace("import torch\n", "import gc\nimport torch\n"))
    report = check_sources(*_write_step(tmp_path))
    found = {(v.rule, v.file) for v in report.violations}
    assert ("monkeypatch", "children/__init__.py") in found, found
    assert ("module_level_code", "children/__init__.py") in found, found
    assert ("forbidden_import", "children/sub/tanh_fp32.py") in found, found
    assert "children/sub/tanh_fp32.py" in report.children


def test_subpackage_children_and_relative_imports_are_children(tmp_path: Path) -> None:
    (tmp_path / "children" / "act").mkdir(parents=True)
    (tmp_path / "children" / "act" / "relu_fp32.py").write_text(CHILD)
    (tmp_path / "children" / "act" / "pair_fp32.py").write_text(
        CHILD.replace("import torch.nn as nn\n", "import torch.nn as nn\n\nfrom .relu_fp32 import Model as Relu\n"))
    body = HEAD.replace("from relu_fp32 import Model as Relu", "from act.relu_fp32 import Model as Relu\n"
                        "from children.act.pair_fp32 import Model as Pair")
    report = check_sources(*_write_step(tmp_path, refactored=body + wrap("return self.act(x)")))
    assert report.violations == [], report.violations


def _write_step(tmp_path: Path, refactored: str | None = None) -> tuple[Path, Path, Path, Path]:
    (tmp_path / "children").mkdir(exist_ok=True)
    (tmp_path / "original.py").write_text(ORIGINAL)
    (tmp_path / "children" / "relu_fp32.py").write_text(CHILD)
    (tmp_path / "refactored.py").write_text(refactored or HEAD + wrap("return self.act(x)"))
    return tmp_path / "original.py", tmp_path / "refactored.py", tmp_path / "children", tmp_path


@pytest.mark.parametrize("name", ["relu_fp32.cpython-311-x86_64-linux-gnu.so", "hook.pth",
                                  "relu_fp32.pyc", "sub/__init__.pyo"])
def test_files_that_run_unscanned_fail(tmp_path: Path, name: str) -> None:
    from verifier.step_files import step_files

    original, refactored, children, step = _write_step(tmp_path)
    path = children / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")
    found = [(v.rule, v.file) for v in check_sources(original, refactored, children, step).violations]
    assert ("forbidden_file", f"children/{name}") in found, found
    assert f"children/{name}" not in step_files(step)


def test_symlinks_under_children_fail_and_all_child_files_are_hashed(tmp_path: Path) -> None:
    from verifier.step_files import step_files

    original, refactored, children, step = _write_step(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}_outside.py"
    outside.write_text(CHILD)
    (children / "tanh_fp32.py").symlink_to(outside)
    (children / "sub").mkdir()
    (children / "sub" / "__init__.py").write_text("")
    (children / "__init__.py").write_text("")
    found = [(v.rule, v.file) for v in check_sources(original, refactored, children, step).violations]
    assert ("forbidden_file", "children/tanh_fp32.py") in found, found
    hashed = step_files(step)
    assert {"children/__init__.py", "children/sub/__init__.py", "children/relu_fp32.py"} <= set(hashed)
    assert not any("outside" in k for k in hashed), hashed


def test_a_child_that_is_not_utf8_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    original, refactored, children, step = _write_step(tmp_path)
    (children / "tanh_fp32.py").write_bytes(b'"""\nAbstraction Level: kernel\n"""\n\xff\xfe\n')
    found = [(v.rule, v.file) for v in check_sources(original, refactored, children, step).violations]
    assert ("syntax_error", "children/tanh_fp32.py") in found, found
