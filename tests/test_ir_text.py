"""The textual IR is a contract: every dump parses back and prints to the same bytes.

`hdecomp ir MODEL --dump-dir D` writes one `NNN_<pass>.ir` file per stage; each must parse into a
`textual.Document` that is self-consistent (counts, ranges, names defined before use) and that
prints to exactly the file's text.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_paths import MODELS, TESTS
from hdecomp_ir.errors import IRInvariantError, IRParseError
from hdecomp_ir.ir_verifier import verify_ir
from hdecomp_ir.textual import (Atom, Call, ComponentDoc, DictLit, Document, Header, InputDoc,
                                Kwarg, OpDoc, Ref, ScalarT, TensorT, TupleT, WeightDoc,
                                format_document, parse, refs)
from workflow.lower import build_ir, dump_ir

REPO = TESTS.parent
EXAMPLE = REPO / "data" / "examples" / "mlp_block.py"
MODEL_FILES = {p.stem: p for p in sorted(MODELS.glob("*.py"))} | {"mlp_block": EXAMPLE}
DUMP_NAME = re.compile(r"\d{3}_[a-z_]+\.ir")

_dumps: dict[str, dict[str, str]] = {}


def dumps_of(model: str, root: Path) -> dict[str, str]:
    """{file name: text} of `hdecomp ir` for one model, written once per test session."""
    if model not in _dumps:
        out = root / model
        dump_ir(MODEL_FILES[model], dump_dir=out, echo=lambda _: None)
        _dumps[model] = {p.name: p.read_text() for p in sorted(out.glob("*.ir"))}
    return _dumps[model]


@pytest.fixture(scope="module")
def dump_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ir_dumps")


@pytest.mark.parametrize("model", sorted(MODEL_FILES))
def test_every_dump_parses_and_prints_back(model: str, dump_root: Path) -> None:
    files = dumps_of(model, dump_root)
    assert list(files)[0] == "000_input.ir" and len(files) > 1, list(files)
    for name, text in files.items():
        assert DUMP_NAME.fullmatch(name), name
        assert format_document(parse(text, where=name)) == text, name


@pytest.mark.parametrize("model", sorted(MODEL_FILES))
def test_dumps_hold_nothing_that_moves_with_the_checkout(model: str, dump_root: Path) -> None:
    for name, text in dumps_of(model, dump_root).items():
        assert str(REPO) not in text and "/work/" not in text, name
        assert not re.search(r"0x[0-9a-fA-F]{6,}", text), f"{name}: a memory address"
        assert "hdecomp_model_" not in text, f"{name}: the loader's per-path module name"


def check_document(doc: Document) -> None:
    """What a well-formed dump says about itself; an AssertionError names the first lapse."""
    h = doc.header
    assert h.op_count == len(doc.ops)
    roles = [op.role for op in doc.ops]
    assert (h.compute_count, h.weight_count, h.plumbing_count) == \
        (roles.count("compute"), roles.count("weight"), roles.count("plumbing"))
    assert h.unclassified == sorted(h.unclassified)
    assert [op.index for op in doc.ops] == list(range(len(doc.ops)))
    defined = {i.name for i in doc.inputs} | {w.name for w in doc.weights}
    assert len(defined) == len(doc.inputs) + len(doc.weights), "a name defined twice"
    for op in doc.ops:
        for name in refs(op.operands):
            assert name in defined, f"#{op.index} %{op.name} uses %{name} before it is defined"
        assert op.name not in defined, f"%{op.name} defined twice"
        defined.add(op.name)
    for name in refs(doc.output):
        assert name in defined, f"return uses undefined %{name}"
    assert doc.root is not None and (doc.root.start, doc.root.end) == (0, len(doc.ops) - 1)
    owner: dict[str, str] = {}
    for comp in doc.components():
        for name, _ in comp.inputs + comp.outputs:
            assert name in defined, f"{comp.cid} names undefined %{name}"
        covered = {i for child in comp.children for i in range(child.start, child.end + 1)}
        direct = [doc.ops[i].name for i in range(comp.start, comp.end + 1) if i not in covered]
        assert comp.owns == direct, f"{comp.cid} owns {comp.owns}, its range says {direct}"
        if comp.level == "kernel":
            assert comp.owns == [op.name for op in doc.ops[comp.start:comp.end + 1]]
        for name in comp.owns:
            assert name not in owner, f"%{name} owned by {owner[name]} and {comp.cid}"
            owner[name] = comp.cid
    assert sorted(owner) == sorted(op.name for op in doc.ops), "an op no component owns"


@pytest.mark.parametrize("model", sorted(MODEL_FILES))
def test_parsed_documents_are_consistent(model: str, dump_root: Path) -> None:
    files = dumps_of(model, dump_root)
    for name, text in files.items():
        doc = parse(text, where=name)
        try:
            check_document(doc)
        except AssertionError as err:
            raise AssertionError(f"{model}/{name}: {err}") from None
        assert doc.header.model == model and doc.header.file == f"{model}.py"
    last = parse(list(files.values())[-1])
    kernels = [c for c in last.components() if c.level == "kernel"]
    assert kernels and all(c.name and c.key for c in kernels), "names and keys are printed"


def test_the_cli_writes_the_same_bytes_in_a_fresh_process(tmp_path: Path, dump_root: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "hdecomp", "ir", str(EXAMPLE),
                          "--dump-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    written = {p.name: p.read_text() for p in sorted(tmp_path.glob("*.ir"))}
    assert written == dumps_of("mlp_block", dump_root)


def test_the_example_reads_as_expected(dump_root: Path) -> None:
    doc = parse(list(dumps_of("mlp_block", dump_root).values())[-1])
    assert [i.name for i in doc.inputs] == ["x"]
    assert doc.inputs[0].type == TensorT("fp32", (16, 128, 768))
    first = doc.ops[0]
    assert (first.target, first.op_class, first.module) == ("aten.layer_norm.default", "compute",
                                                             "norm")
    assert first.operands == [Ref("x"), [768], Ref("p_norm_weight"), Ref("p_norm_bias"), 1e-05,
                              False]
    weights = {w.name: (w.kind, w.fqn) for w in doc.weights}
    assert weights["p_fc1_weight"] == ("param", "fc1.weight")
    assert doc.output == Ref(doc.ops[-1].name)


@pytest.mark.parametrize("line_of, replace, expected", [
    (lambda lines: next(i for i, l in enumerate(lines) if l.startswith("  #1 ")),
     lambda l: l.replace(" = ", " ", 1), "' = ' before the op"),
    (lambda lines: next(i for i, l in enumerate(lines) if l.startswith("  %x: ")),
     lambda l: l.replace("[", "<", 1), "end of line"),
    (lambda lines: next(i for i, l in enumerate(lines) if l.lstrip().startswith("kernel ")),
     lambda l: l.replace("kernel ", "kernal ", 1), "a level"),
    (lambda lines: next(i for i, l in enumerate(lines) if l.startswith("ops ")),
     lambda l: l.replace("weight", "weights", 1), "', weight W'"),
])
def test_a_malformed_line_is_reported_with_its_number(dump_root: Path, line_of, replace,
                                                       expected: str) -> None:
    text = list(dumps_of("mlp_block", dump_root).values())[-1]
    lines = text.split("\n")
    i = line_of(lines)
    lines[i] = replace(lines[i])
    with pytest.raises(IRParseError) as info:
        parse("\n".join(lines), where="broken.ir")
    assert info.value.line == i + 1
    message = str(info.value)
    assert message.startswith(f"broken.ir: line {i + 1}: expected "), message
    assert expected in message, message


def test_a_truncated_dump_says_what_is_missing(dump_root: Path) -> None:
    text = list(dumps_of("mlp_block", dump_root).values())[-1]
    cut = text[:text.index("\nreturn ")]
    with pytest.raises(IRParseError, match="expected 'return <value>'.*found end of file"):
        parse(cut)
    with pytest.raises(IRParseError, match="line 1: expected 'hdecomp-ir 1'"):
        parse("ir model=tiny_mlp\n")


def test_every_operand_form_round_trips() -> None:
    tensor = TensorT("fp32", (2, 3))
    ops = [OpDoc(0, "a", TupleT((tensor,)), "aten.foo.default",
                 [Ref("x"), 3, -1, 0.5, 1e-05, float("inf"), float("-inf"), float("nan"), -0.0,
                  True, None, "a \"quoted\" näme", [1, [2, 3]], (4,), (), (Ref("x"), 5),
                  Atom("torch.float32"), Call("device", ("meta",)), Call("slice", (0, None, 2)),
                  DictLit((("k", Ref("x")), (1, [Ref("x")]))),
                  Kwarg("dtype", Atom("torch.int64")), Kwarg("dims", [])],
                 "compute", "compute", "blocks.0.attn"),
           OpDoc(1, "b", TupleT((tensor, ScalarT("int"), TensorT("i64", ()))), "weird op!",
                 [Ref("a")], "arith", "plumbing", "odd path/x"),
           OpDoc(2, "c", TensorT("bool", ("s0", 4)), "getitem", [Ref("b"), 0], "plumbing",
                 "weight")]
    root = ComponentDoc("model", "root", "Model", 0, 2, "root", module_path="",
                        module_class="Model", inputs=[("x", tensor)], outputs=[("c", ops[2].type)],
                        owns=["c"], notes=["one kernel (\"x\"): nothing to decompose"],
                        children=[ComponentDoc("kernel", "k0", "Foo", 0, 1, "kernel-op",
                                               name="foo_2x3", key="abc", instances=3,
                                               owns=["a", "b"])])
    doc = Document(Header("m", "m.py", "Model", "torch.export(strict=False)", ["Eq(u1, 66)"],
                          ["foo"], ["a note"], 3, 1, 0, 2),
                   [InputDoc("x", tensor), InputDoc("s", ScalarT("float"))],
                   [WeightDoc("w", tensor, "param", "w", ["v.w"]),
                    WeightDoc("m", ScalarT("?"), "buffer", "mask", persistent=False)],
                   ops, root, (Ref("c"), DictLit((("h", [Ref("a"), None]),))))
    text = format_document(doc)
    assert format_document(parse(text)) == text
    again = parse(text)
    assert again.ops[0].operands[:5] == [Ref("x"), 3, -1, 0.5, 1e-05]
    assert again.weights[1].persistent is False and again.weights[0].aliases == ["v.w"]
    assert again.root.children[0].instances == 3


def test_the_ir_verifier_quotes_the_broken_component() -> None:
    ir = build_ir(MODELS / "tiny_mlp.py")
    kernel = ir.kernels()[1]
    kernel.start -= 1  # now overlaps its previous sibling
    with pytest.raises(IRInvariantError) as info:
        verify_ir(ir)
    message = info.value.what
    assert "children_nest" in message and f"kernel {kernel.cid} " in message, message
    assert "  in (%" in message and "owns %" in message, message
