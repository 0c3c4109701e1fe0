"""Builders of the generated Python files: component files, refactored steps, composition test.

Each file is a libcst module assembled from templates (libcst.helpers.parse_template_module) with
the class built from the renderer's statements; nothing is glued together as raw source text
except the header docstring.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.helpers import parse_template_module
import torch
from torch import fx

from hdecomp_ir.ir import IR, Component, TensorType, value_type
from hdecomp_ir.naming import identifier, kernel_op_label, module_prefix, module_repr, \
    module_slots, unique, weight_names
from hdecomp_ir.policy import POSITIVE_DOMAIN_NAMES, SIGN_PRESERVING_NAMES, OpKind, op_info
from hdecomp_ir.spec import COMPOSITION_ATOL, COMPOSITION_RTOL
from hdecomp_ir.traced import flat_outputs
from codegen.render import Callee, call, dotted, render_forward

IMPORTS = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"

_TESTS_TEMPLATE = '''

def get_inputs():
    return {inputs}


def get_init_inputs():
    return []


def get_expected_output_shape():
    return {shapes}


# Masking with -inf (attention masks) makes infinities a correct output.
ALLOW_INF = {allow_inf}


def run_tests():
    """Build the model, run it on get_inputs(), check the output shapes and finiteness."""
    try:
        model = Model(*get_init_inputs())
        model.eval()
        with torch.no_grad():
            inputs = get_inputs()
            output = model(*inputs)
            outputs = [o for o in torch.utils._pytree.tree_leaves(output) if isinstance(o, torch.Tensor)]
            for out in outputs:
                assert out is not None, "Output is None"
                if out.is_floating_point():
                    assert not torch.isnan(out).any(), "Output contains NaN"
                    assert ALLOW_INF or not torch.isinf(out).any(), "Output contains Inf"
            actual = [tuple(o.shape) for o in outputs]
            expected = [tuple(s) for s in get_expected_output_shape()]
            assert actual == expected, f"Output shapes {actual} != expected {expected}"
            print(f"Input shape(s): {[tuple(x.shape) for x in inputs if isinstance(x, torch.Tensor)]}")
            print(f"Output shape(s): {actual}")
            print("PASS")
            return True
    except Exception as e:
        print(f"FAIL: {e}")
        import traceback
        traceback.print_exc()
        return False


if __name__ == "__main__":
    import sys
    sys.exit(0 if run_tests() else 1)
'''


def class_alias(stem: str) -> str:
    """`linear_768x3072_fp32` -> `Linear768x3072Fp32` (the name a refactored file imports)."""
    return "".join(p[:1].upper() + p[1:] for p in stem.split("_") if p) or "Child"


# --- inputs ----------------------------------------------------------------------------------

def int_high(ir: IR, node: fx.Node) -> int:
    """Exclusive upper bound for random integer inputs: the table an index feeds, else 2."""
    frontier, seen = list(node.users), set()
    while frontier:
        user = frontier.pop(0)
        if user in seen or user.op != "call_function":
            continue
        seen.add(user)
        name = getattr(user.target, "__name__", "")
        if name.startswith("embedding") and len(user.args) > 1 and user.args[1] is node:
            t = value_type(user.args[0])  # type: ignore[arg-type]
            if isinstance(t, TensorType):
                return t.shape[0]
        if ("nll_loss" in name or "cross_entropy" in name) and len(user.args) > 1:
            t = value_type(user.args[0])  # type: ignore[arg-type]
            if isinstance(t, TensorType) and len(t.shape) > 1:
                return t.shape[1]
        frontier.extend(user.users)
    return 2


def input_expr(ir: IR, node: fx.Node) -> cst.BaseExpression:
    """Expression creating a random input like `node`'s value at its exact shape and dtype."""
    t = value_type(node)
    if not isinstance(t, TensorType):
        value = ir.user_input_value(node)
        if isinstance(value, (bool, int, float)) and repr(value) not in ("inf", "-inf", "nan"):
            return cst.parse_expression(repr(value))  # a number get_inputs() passes as it is
        raise TypeError(f"input {node.name} is not a tensor")
    shape = cst.Tuple([cst.Element(cst.Integer(str(d))) for d in t.shape]) if t.shape else \
        cst.Tuple([])
    dtype = dotted(str(t.dtype))
    if t.dtype == torch.bool:
        return call(cst.Attribute(call("torch.randint", [cst.Integer("0"), cst.Integer("2"), shape]),
                                  cst.Name("bool")), [])
    if not t.dtype.is_floating_point and not t.dtype.is_complex:
        high = cst.Integer(str(int_high(ir, node)))
        return call("torch.randint", [cst.Integer("0"), high, shape], {"dtype": dtype})
    if feeds_positive_domain(node):
        # away from 0 as well: log(0) is -inf, and a million draws of rand() do hit 0
        return cst.BinaryOperation(call("torch.rand", [shape], {"dtype": dtype}), cst.Add(),
                                   cst.Float("0.01"))
    return call("torch.randn", [shape], {"dtype": dtype})


def feeds_positive_domain(node: fx.Node) -> bool:
    """Does a value reach a positive-only op (log, sqrt …) through plumbing and sign-preserving
    reductions alone?"""
    frontier, seen = list(node.users), set()
    while frontier:
        user = frontier.pop()
        if user in seen or user.op != "call_function":
            continue
        seen.add(user)
        info = op_info(user.target)
        if info.name in POSITIVE_DOMAIN_NAMES:
            return True
        if info.kind is not OpKind.COMPUTE or info.name in SIGN_PRESERVING_NAMES:
            frontier.extend(user.users)
    return False


def returned_tensors(ir: IR, comp: Component) -> list[fx.Node]:
    """The tensors a component's forward() returns, in return order (the model's own structure,
    flattened, for the root; its outputs for the others)."""
    if comp is not ir.root:
        return ir.outputs(comp)
    return [v for v in flat_outputs(ir.traced)
            if isinstance(v, fx.Node) and isinstance(value_type(v), TensorType)]


def _shapes_expr(nodes: list[fx.Node]) -> cst.BaseExpression:
    elems = []
    for n in nodes:
        t = value_type(n)
        shape = t.shape if isinstance(t, TensorType) else ()
        elems.append(cst.Element(cst.Tuple([cst.Element(cst.Integer(str(d))) for d in shape])
                                 if shape else cst.Tuple([])))
    return cst.List(elems)


# --- header ----------------------------------------------------------------------------------

def _type_line(name: str, t: Any) -> str:
    if isinstance(t, TensorType):
        return f"  - {name}: {list(t.shape)} dtype={t.dtype}"
    return f"  - {name}: {t}"


def header(ir: IR, comp: Component, *, parent: str, children: list[str], params: list[str]) -> str:
    """The specification's header docstring of a component file."""
    ops = [ir.info(n).name for n in ir.compute_nodes(comp)] if comp.is_kernel else \
        [kernel_op_label(ir, k) for k in ir.kernels(comp)]
    lines = [f"Component: {comp.name}", f"Source: {ir.model_file.as_posix()}",
             f"Abstraction Level: {comp.level.label}", f"Parent: {parent}",
             f"Children: {children}", f"Instances: {comp.instances}", "",
             f"Operations: {ops}", "", "Input Shapes:"]
    ins = ir.inputs(comp) if comp is not ir.root else []
    lines += [_type_line(p, value_type(n)) for p, n in zip(params, ins)]
    lines += ["", "Output Shapes:"]
    outs = ir.outputs(comp)
    lines += [_type_line("output" if len(outs) == 1 else f"output{i}", value_type(n))
              for i, n in enumerate(outs)]
    lines += ["", "Weight Shapes:"]
    for node, name in weight_names(ir, comp).items():
        lines.append(_type_line(name, value_type(node)))
    return '"""\n' + "\n".join(lines) + '\n"""\n'


# --- component files -------------------------------------------------------------------------

def _init_block(statements: list[cst.BaseStatement]) -> cst.IndentedBlock:
    return cst.IndentedBlock(body=[cst.parse_statement("super().__init__()"), *statements])


def _weight_init(ir: IR, node: fx.Node, name: str,
                 buffers: dict[str, torch.Tensor]) -> cst.BaseStatement:
    t = value_type(node)
    assert isinstance(t, TensorType)
    shape = cst.Tuple([cst.Element(cst.Integer(str(d))) for d in t.shape])
    dtype = dotted(str(t.dtype))
    fqn = ir.weight_fqn(node) or node.name
    if fqn in buffers:
        # Buffers hold values the model computed at construction (masks, rotary tables): they
        # come from the sidecar file written beside this one.
        # A clone per instance: instances sharing one tensor would alias each other's weights.
        value = call(cst.Attribute(cst.Subscript(cst.Name("_BUFFERS"), [cst.SubscriptElement(
            cst.Index(cst.SimpleString(json.dumps(name))))]), cst.Name("clone")), [])
    elif t.dtype.is_floating_point:
        value = call("torch.randn", [shape], {"dtype": dtype})
    else:
        value = call("torch.zeros", [shape], {"dtype": dtype})
    if ir.is_param(node):
        return cst.parse_statement("self.NAME = nn.Parameter(VALUE)").visit(
            _Subst({"NAME": cst.Name(name), "VALUE": value}))
    persistent = ir.traced.persistent.get(fqn, True)
    stmt = cst.SimpleStatementLine([cst.Expr(call("self.register_buffer", [
        cst.SimpleString(json.dumps(name)), value], {"persistent": cst.Name(str(persistent))}))])
    return stmt


class _Subst(cst.CSTTransformer):
    """Replace placeholder names in a parsed statement."""

    def __init__(self, mapping: dict[str, cst.CSTNode]) -> None:
        self.mapping = mapping

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.CSTNode:  # noqa: N802
        return self.mapping.get(updated.value, updated)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.CSTNode:  # noqa: N802
        if isinstance(updated.value, cst.Name) and updated.value.value == "self" and \
                updated.attr.value in self.mapping:
            return cst.Attribute(updated.value, self.mapping[updated.attr.value])  # type: ignore[arg-type]
        return updated


def sidecar_buffers(ir: IR, comp: Component,
                    buffers: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Local name -> value of the computed buffers a component file loads from its sidecar."""
    out = {}
    for node, name in weight_names(ir, comp).items():
        fqn = ir.weight_fqn(node) or ""
        if "." not in name and fqn in buffers:
            out[name] = buffers[fqn]
    return out


def component_module(ir: IR, comp: Component, *, parent: str,
                     buffers: dict[str, torch.Tensor]) -> str:
    """Source of a standalone component file (the specification's component format)."""
    params, body = render_forward(ir, comp, callees=[])
    init: list[cst.BaseStatement] = []
    for path, slot in module_slots(ir, comp).items():
        init.append(cst.parse_statement(f"self.{slot} = {module_repr(ir, path)}"))
    used_buffers = {}
    for node, name in weight_names(ir, comp).items():
        if "." in name:
            continue
        fqn = ir.weight_fqn(node) or ""
        if fqn in buffers:
            used_buffers[fqn] = buffers[fqn]
        init.append(_weight_init(ir, node, name, buffers))
    children = [c.name for c in comp.children]
    text = header(ir, comp, parent=parent, children=children, params=params) + "\n" + IMPORTS
    if used_buffers:
        text += ("from pathlib import Path\n\n"
                 "_BUFFERS = torch.load(Path(__file__).with_suffix('.buffers.pt'), "
                 "weights_only=True)\n")
    module = parse_template_module(text + '''

class Model(nn.Module):
    def __init__(self):
        {init}

    def forward({params}):
        {body}
''' + _TESTS_TEMPLATE, init=_init_block(init), params=_parameters(params),
        body=cst.IndentedBlock(body=body), inputs=_inputs_expr(ir, comp),
        shapes=_shapes_expr(returned_tensors(ir, comp)),
        allow_inf=cst.Name(str(allows_inf(ir, comp, buffers))))
    return module.code


def allows_inf(ir: IR, comp: Component, buffers: dict[str, torch.Tensor] | None = None) -> bool:
    """Can a component correctly return infinities: masked_fill(-inf), or an added mask buffer
    that holds -inf (a causal mask stored as 0/-inf)?"""
    for node in ir.weights(comp):
        value = (buffers or {}).get(ir.weight_fqn(node) or "")
        if value is not None and value.is_floating_point() and bool(torch.isinf(value).any()):
            return True
    frontier = list(ir.outputs(comp))
    seen: set[fx.Node] = set()
    while frontier:
        node = frontier.pop()
        if node in seen or node.op != "call_function":
            continue
        seen.add(node)
        if ir.info(node).name in ("masked_fill", "fill", "full") and any(
                isinstance(a, float) and math.isinf(a) for a in node.args):
            return True
        if node not in ir.compute or ir.info(node).name == "masked_fill":
            frontier.extend(node.all_input_nodes)
    return False


def _parameters(names: list[str]) -> cst.Parameters:
    return cst.Parameters(params=[cst.Param(cst.Name("self"))] +
                          [cst.Param(cst.Name(n)) for n in names])


def _inputs_expr(ir: IR, comp: Component) -> cst.BaseExpression:
    if comp is ir.root:
        placeholders = {n.name: n for n in ir.traced.graph.nodes if n.op == "placeholder"}
        nodes = [placeholders[n] for n in ir.traced.user_inputs]
    else:
        nodes = ir.inputs(comp)
    return cst.List([cst.Element(input_expr(ir, n)) for n in nodes])


# --- refactored steps and the composition test -----------------------------------------------

@dataclass
class ChildRef:
    """One child instance in a refactored parent: its attribute and its class import."""

    comp: Component
    attr: str
    alias: str


def child_refs(ir: IR, parent: Component, children: list[Component]) -> list[ChildRef]:
    """Attribute names for child instances: their module path relative to the parent, else op."""
    prefix = module_prefix(ir, parent)
    refs, used = [], set()
    for child in children:
        path = child.module_path or ""
        if path and (not prefix or path.startswith(prefix + ".")):
            base = identifier(path[len(prefix) + 1:] if prefix else path)
        elif child.is_kernel:
            base = kernel_op_label(ir, child)
        else:
            base = identifier(child.label.replace("+", "_").lower())
        attr = unique(base, used)
        refs.append(ChildRef(child, attr, class_alias(child.name)))
    return refs


def weight_map(ir: IR, parent: Component, refs: list[ChildRef]) -> dict[str, Any]:
    """Parent weight name -> child weight name(s); a list where one weight feeds several."""
    parent_names = ({n: ir.weight_fqn(n) or n.name for n in ir.weights(parent)}
                    if parent is ir.root else weight_names(ir, parent))
    out: dict[str, Any] = {}
    for ref in refs:
        for node, local in weight_names(ir, ref.comp).items():
            src = parent_names[node]
            dst = f"{ref.attr}.{local}"
            if src in out:
                prev = out[src]
                out[src] = (prev if isinstance(prev, list) else [prev]) + [dst]
            else:
                out[src] = dst
    return dict(sorted(out.items()))


def _class_with_children(ir: IR, parent: Component, refs: list[ChildRef], class_name: str,
                         preamble: str, tail: str, **subs: Any) -> str:
    params, body = render_forward(ir, parent, [Callee(r.comp, r.attr) for r in refs])
    init = [cst.parse_statement(f"self.{r.attr} = {r.alias}()") for r in refs]
    module = parse_template_module(preamble + f'''

class {class_name}(nn.Module):
    def __init__(self):
        {{init}}

    def forward({{params}}):
        {{body}}
''' + tail, init=_init_block(init), params=_parameters(params),
        body=cst.IndentedBlock(body=body), **subs)
    return module.code


def refactored_module(ir: IR, parent: Component, refs: list[ChildRef], *, step: str) -> str:
    """Source of steps/<step>/refactored.py: the parent calling only its children."""
    imports = "".join(f"from {stem} import Model as {alias}\n" for stem, alias in
                      sorted({(r.comp.name, r.alias) for r in refs}))
    preamble = (f'"""Step {step}: {parent.name} rewritten as calls of its '
                f'{len(refs)} children plus data plumbing."""\n\n'
                "import sys\nfrom pathlib import Path\n\n" + IMPORTS + "\n"
                'sys.path.insert(0, str(Path(__file__).parent / "children"))\n' + imports)
    tail = '''

def get_inputs():
    return {inputs}


def get_init_inputs():
    return []
'''
    return _class_with_children(ir, parent, refs, "RefactoredModel", preamble, tail,
                                inputs=_inputs_expr(ir, parent))


def composition_module(ir: IR, refs: list[ChildRef], *, original_rel: str, kernel_dir: str,
                       wmap: dict[str, Any]) -> str:
    """Source of verification/composition_test.py: the model rebuilt from L0 kernels only."""
    imports = "".join(f"from {stem} import Model as {alias}\n" for stem, alias in
                      sorted({(r.comp.name, r.alias) for r in refs}))
    preamble = ('"""End-to-end composition test: the model rebuilt from level-0 kernels only,\n'
                'compared with the original on the same weights and inputs."""\n\n'
                "import importlib.util\nimport sys\nfrom pathlib import Path\n\n" + IMPORTS + "\n"
                "HERE = Path(__file__).resolve().parent\n"
                f'sys.path.insert(0, str(HERE.parent / "{kernel_dir}"))\n' + imports)
    tail = f'''

ORIGINAL = HERE.parent / {json.dumps(original_rel)}
WEIGHT_MAP = {{wmap}}
RTOL = {COMPOSITION_RTOL!r}
ATOL = {COMPOSITION_ATOL!r}


def load_original():
    spec = importlib.util.spec_from_file_location("composition_original", ORIGINAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transfer(original, composed):
    """Copy every mapped parameter and buffer of the original into the composed model."""
    source = dict(original.named_parameters(remove_duplicate=False))
    source.update(original.named_buffers(remove_duplicate=False))
    for prefix, module in original.named_modules(remove_duplicate=False):
        # plain tensor attributes (`self.h0 = torch.randn(...)`) are state the forward reads
        for attr, value in vars(module).items():
            if isinstance(value, torch.Tensor) and not attr.startswith("_"):
                source[prefix + "." + attr if prefix else attr] = value
    target = dict(composed.named_parameters(remove_duplicate=False))
    target.update(composed.named_buffers(remove_duplicate=False))
    with torch.no_grad():
        for src, dst in WEIGHT_MAP.items():
            for name in dst if isinstance(dst, list) else [dst]:
                target[name].copy_(source[src])


def main():
    original_module = load_original()
    torch.manual_seed(42)
    original = original_module.Model(*original_module.get_init_inputs()).eval()
    composed = ComposedModel().eval()
    transfer(original, composed)
    inputs = original_module.get_inputs()
    with torch.no_grad():
        expected = original(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
        actual = composed(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
    exp_leaves = torch.utils._pytree.tree_leaves(expected)
    act_leaves = torch.utils._pytree.tree_leaves(actual)
    ok = len(exp_leaves) == len(act_leaves)
    max_diff = 0.0
    for e, a in zip(exp_leaves, act_leaves):
        if not isinstance(e, torch.Tensor):
            ok = ok and e == a
            continue
        if e.shape != a.shape or e.dtype != a.dtype:
            ok = False
            continue
        if e.numel():
            diff = (e.double() - a.double()).abs().nan_to_num(0.0).max().item()
            max_diff = max(max_diff, diff)
        ok = ok and torch.allclose(e, a, rtol=RTOL, atol=ATOL, equal_nan=True)
    print(f"max_difference={{max_diff:.3e}}")
    print("PASS" if ok else "FAIL")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
'''
    return _class_with_children(ir, ir.root, refs, "ComposedModel", preamble, tail,
                                wmap=cst.parse_expression(json.dumps(wmap, indent=4)))
