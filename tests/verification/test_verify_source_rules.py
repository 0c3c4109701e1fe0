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
    "return torch.ops.aten.view.default(self.act(x), [2, 8])",
    "return torch.ops.aten._to_copy.default(self.act(x), dtype=DTYPE)",
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
        leaves = torch.utils._pytree.tree_leaves(out)
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
