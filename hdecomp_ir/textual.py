"""The textual IR as a document: a small data model, its printer and its parser.

The printed IR is a contract: `hdecomp ir --dump-dir D` writes files that `parse` reads back into
a `Document` and `format_document` prints to the same bytes. `hdecomp_ir.printer` turns an `IR`
into a `Document`; this module knows nothing about fx or torch, only the text.

A dump reads top to bottom like a small MLIR/jaxpr listing::

    hdecomp-ir 1
    model "tiny_mlp" file "tiny_mlp.py" class "Model"
    frontend "torch.export(strict=False)"
    ops 5 (compute 4, weight 0, plumbing 1)

    inputs:
      %x: fp32[2,4,16]

    weights:
      %p_fc1_weight: fp32[32,16] = param "fc1.weight"

    ops:
      #0 %linear: fp32[2,4,32] = aten.linear.default(%x, %p_fc1_weight, %p_fc1_bias) compute @fc1

    components:
      model root "Model" [0..4] origin=root module="" class="Model" x1
        in (%x: fp32[2,4,16])
        out (%add: fp32[2,4,16])
        owns %add

    return %add

Header lines: `specialized`, `unclassified` and `note` lines (zero or more each, one string
each) sit between `frontend` and `ops`. A weight line may end in `aliases [...]` (the other
names of a tied tensor) and `nonpersistent`. An op line ends in its op class from the policy,
`as <role>` where the IR's role for it differs (compute, weight: plumbing that prepares a weight,
plumbing: anything else), and `@<module path>` of the innermost module that ran it. A component
line holds level, id, label, range and `key=value` attributes; its `in`, `out`, `owns` and `note`
lines and its children follow, indented two more spaces.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Union

from hdecomp_ir.errors import IRParseError

FORMAT_LINE = "hdecomp-ir 1"
LEVELS = ("kernel", "fusion", "layer", "model")
OP_CLASSES = ("compute", "plumbing", "arith")
ROLES = ("compute", "weight", "plumbing")
WEIGHT_KINDS = ("param", "buffer", "constant", "attr", "unknown")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_WORD = re.compile(r"[A-Za-z0-9_.\-]+")
_INT = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|inf\b|nan\b)")
_ATTR_KEYS = ("origin", "module", "class", "name", "key")
_KEYWORDS: dict[str, None | bool] = {"None": None, "True": True, "False": False}


# --- the document model ------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorT:
    """A tensor type: `fp32[2,4,16]` (dims are ints, or names for symbolic sizes)."""

    dtype: str
    shape: tuple[int | str, ...]


@dataclass(frozen=True)
class TupleT:
    """The type of a multi-output value: `(fp32[2,5,16], fp32[1,2,16])`."""

    items: tuple["Type", ...]


@dataclass(frozen=True)
class ScalarT:
    """A non-tensor value: `int`, `float`, `bool`, `none`, or `?` when nothing is known."""

    name: str


Type = Union[TensorT, TupleT, ScalarT]


@dataclass(frozen=True)
class Ref:
    """A use of a named value: `%linear`."""

    name: str


@dataclass(frozen=True)
class Atom:
    """A named constant: `torch.float32`, `torch.strided`, `Ellipsis`."""

    text: str


@dataclass(frozen=True)
class Call:
    """A constructed constant: `device("meta")`, `slice(0, 8, None)`, `opaque("Foo")`."""

    fn: str
    args: tuple["Operand", ...]


@dataclass(frozen=True)
class DictLit:
    """A dict, kept as ordered pairs: `{"logits": %linear_1, "hidden": %mul}`."""

    items: tuple[tuple["Operand", "Operand"], ...]


@dataclass(frozen=True)
class Kwarg:
    """A keyword operand of an op: `dtype=torch.float32`."""

    name: str
    value: "Operand"


# Python values stand for themselves: None, bool, int, float, str, list and tuple.
Operand = Union[Ref, Atom, Call, DictLit, None, bool, int, float, str, list, tuple]


@dataclass
class Header:
    """What the IR is of, the decisions taken while tracing it, and its op counts by role."""

    model: str
    file: str
    class_name: str
    frontend: str
    specialized: list[str] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    op_count: int = 0
    compute_count: int = 0
    weight_count: int = 0
    plumbing_count: int = 0


@dataclass
class InputDoc:
    """One of the model's inputs, in forward() order."""

    name: str
    type: Type


@dataclass
class WeightDoc:
    """A parameter, buffer or constant placeholder with the FQN it stands for."""

    name: str
    type: Type
    kind: str
    fqn: str
    aliases: list[str] = field(default_factory=list)
    persistent: bool = True


@dataclass
class OpDoc:
    """One op node: result, type, op, operands, policy class, IR role, module."""

    index: int
    name: str
    type: Type
    target: str
    operands: list[Operand | Kwarg]
    op_class: str
    role: str
    module: str | None = None


@dataclass
class ComponentDoc:
    """A component of the tree with its interface and the ops it owns directly."""

    level: str
    cid: str
    label: str
    start: int
    end: int
    origin: str
    module_path: str | None = None
    module_class: str | None = None
    name: str = ""
    key: str = ""
    instances: int = 1
    inputs: list[tuple[str, Type]] = field(default_factory=list)
    outputs: list[tuple[str, Type]] = field(default_factory=list)
    owns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    children: list["ComponentDoc"] = field(default_factory=list)

    def walk(self) -> Iterator["ComponentDoc"]:
        """Pre-order walk of this component and its descendants."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Document:
    """A whole dump."""

    header: Header
    inputs: list[InputDoc] = field(default_factory=list)
    weights: list[WeightDoc] = field(default_factory=list)
    ops: list[OpDoc] = field(default_factory=list)
    root: ComponentDoc | None = None
    output: Operand = None

    def components(self) -> list[ComponentDoc]:
        """Every component, pre-order."""
        return list(self.root.walk()) if self.root else []


def refs(value: Operand | Kwarg) -> list[str]:
    """Names of the values an operand uses, left to right (nested lists and dicts included)."""
    if isinstance(value, Ref):
        return [value.name]
    if isinstance(value, Kwarg):
        return refs(value.value)
    if isinstance(value, Call):
        return [n for a in value.args for n in refs(a)]
    if isinstance(value, DictLit):
        return [n for k, v in value.items for n in refs(k) + refs(v)]
    if isinstance(value, (list, tuple)):
        return [n for a in value for n in refs(a)]
    return []


# --- printing ----------------------------------------------------------------------------------

def _str(text: str) -> str:
    return json.dumps(text)


def _word_or_str(text: str, pattern: re.Pattern[str]) -> str:
    """A bare word when it is one (readable), a quoted string otherwise (parseable)."""
    return text if pattern.fullmatch(text) else _str(text)


def format_type(t: Type) -> str:
    """`fp32[2,4]`, `(fp32[2], i64[2])`, `int`."""
    if isinstance(t, TensorT):
        return f"{t.dtype}[{','.join(str(d) for d in t.shape)}]"
    if isinstance(t, TupleT):
        inner = ", ".join(format_type(i) for i in t.items)
        return f"({inner},)" if len(t.items) == 1 else f"({inner})"
    return t.name


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def format_operand(value: Operand | Kwarg) -> str:
    """One operand as text; Python literals keep Python's spelling, strings are JSON."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, Ref):
        return f"%{value.name}"
    if isinstance(value, Atom):
        return value.text
    if isinstance(value, Kwarg):
        return f"{value.name}={format_operand(value.value)}"
    if isinstance(value, Call):
        return f"{value.fn}({', '.join(format_operand(a) for a in value.args)})"
    if isinstance(value, DictLit):
        items = ", ".join(f"{format_operand(k)}: {format_operand(v)}" for k, v in value.items)
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_operand(a) for a in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(format_operand(a) for a in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"not an operand of the textual IR: {type(value).__name__}")


def _typed(values: list[tuple[str, Type]]) -> str:
    return "(" + ", ".join(f"%{n}: {format_type(t)}" for n, t in values) + ")"


def format_op(op: OpDoc) -> str:
    """One op line, without indentation."""
    operands = ", ".join(format_operand(a) for a in op.operands)
    line = (f"#{op.index} %{op.name}: {format_type(op.type)} = "
            f"{_word_or_str(op.target, _DOTTED)}({operands}) {op.op_class}")
    if op.role != op.op_class:
        line += f" as {op.role}"
    if op.module:
        line += f" @{_word_or_str(op.module, _WORD)}"
    return line


def format_component(comp: ComponentDoc, depth: int = 0) -> list[str]:
    """Lines of one component and its subtree, the component indented by `depth` steps."""
    pad = "  " * depth
    head = [comp.level, comp.cid, _str(comp.label), f"[{comp.start}..{comp.end}]",
            f"origin={_word_or_str(comp.origin, _WORD)}"]
    if comp.module_path is not None:
        head.append(f"module={_str(comp.module_path)}")
    if comp.module_class is not None:
        head.append(f"class={_str(comp.module_class)}")
    if comp.name:
        head.append(f"name={_str(comp.name)}")
    if comp.key:
        head.append(f"key={_str(comp.key)}")
    head.append(f"x{comp.instances}")
    lines = [pad + " ".join(head),
             f"{pad}  in {_typed(comp.inputs)}",
             f"{pad}  out {_typed(comp.outputs)}"]
    if comp.owns:
        lines.append(f"{pad}  owns " + ", ".join(f"%{n}" for n in comp.owns))
    lines.extend(f"{pad}  note {_str(n)}" for n in comp.notes)
    for child in comp.children:
        lines.extend(format_component(child, depth + 1))
    return lines


def format_document(doc: Document) -> str:
    """The whole dump; `parse(format_document(d))` gives back an equal document."""
    h = doc.header
    lines = [FORMAT_LINE,
             f"model {_str(h.model)} file {_str(h.file)} class {_str(h.class_name)}",
             f"frontend {_str(h.frontend)}"]
    lines += [f"specialized {_str(s)}" for s in h.specialized]
    lines += [f"unclassified {_str(u)}" for u in h.unclassified]
    lines += [f"note {_str(n)}" for n in h.notes]
    lines.append(f"ops {h.op_count} (compute {h.compute_count}, weight {h.weight_count}, "
                 f"plumbing {h.plumbing_count})")
    lines += ["", "inputs:"]
    lines += [f"  %{i.name}: {format_type(i.type)}" for i in doc.inputs]
    lines += ["", "weights:"]
    for w in doc.weights:
        line = f"  %{w.name}: {format_type(w.type)} = {w.kind} {_str(w.fqn)}"
        if w.aliases:
            line += f" aliases {format_operand(list(w.aliases))}"
        if not w.persistent:
            line += " nonpersistent"
        lines.append(line)
    lines += ["", "ops:"]
    lines += ["  " + format_op(op) for op in doc.ops]
    lines += ["", "components:"]
    if doc.root is not None:
        lines += format_component(doc.root, 1)
    lines += ["", f"return {format_operand(doc.output)}"]
    return "\n".join(lines) + "\n"


# --- parsing -----------------------------------------------------------------------------------

class _Cursor:
    """A position in one line; a token that is not there raises IRParseError naming the line."""

    def __init__(self, text: str, lineno: int, where: str | None) -> None:
        self.text = text
        self.pos = 0
        self.lineno = lineno
        self.where = where

    def fail(self, expected: str) -> IRParseError:
        rest = self.text[self.pos:]
        found = repr(rest[:40] + ("..." if len(rest) > 40 else "")) if rest else "end of line"
        return IRParseError(self.lineno, expected, found, where=self.where)

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def accept(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str, what: str | None = None) -> None:
        if not self.accept(literal):
            raise self.fail(what or repr(literal))

    def regex(self, pattern: re.Pattern[str], what: str) -> str:
        m = pattern.match(self.text, self.pos)
        if not m:
            raise self.fail(what)
        self.pos = m.end()
        return m.group(0)

    def done(self) -> None:
        if self.pos != len(self.text):
            raise self.fail("end of line")

    # --- tokens ---
    def string(self) -> str:
        if not self.peek('"'):
            raise self.fail("a quoted string")
        try:
            value, end = json.JSONDecoder().raw_decode(self.text, self.pos)
        except json.JSONDecodeError:
            raise self.fail("a well-formed quoted string") from None
        self.pos = end
        return value

    def word_or_string(self, pattern: re.Pattern[str], what: str) -> str:
        return self.string() if self.peek('"') else self.regex(pattern, what)

    def integer(self, what: str = "an integer") -> int:
        return int(self.regex(_INT, what))

    def name_ref(self) -> str:
        self.expect("%", "a value name such as %x")
        return self.regex(_IDENT, "a value name after %")

    def delimited(self, close: str, item: Callable[[], Any], what: str,
                  one_tuple: bool = False) -> list:
        """Items separated by ', ' up to `close` (the opener already read).

        With `one_tuple`, a single item must be written `(x,)` as Python does, and only then.
        """
        items: list = []
        if self.accept(close):
            return items
        while True:
            items.append(item())
            if one_tuple and len(items) == 1:
                if self.accept("," + close):
                    return items
                if self.peek(close):
                    raise self.fail("',' closing a 1-tuple: (x,)")
            if self.accept(close):
                return items
            if not self.accept(", "):
                raise self.fail(f"', ' or {close!r} after {what}")

    # --- types ---
    def type(self) -> Type:
        if self.accept("?"):
            return ScalarT("?")
        if self.accept("("):
            return TupleT(tuple(self.delimited(")", self.type, "a type", one_tuple=True)))
        name = self.regex(_IDENT, "a type such as fp32[2,3], (T, T), int or ?")
        if not self.accept("["):
            return ScalarT(name)
        dims: list[int | str] = []
        while not self.accept("]"):
            if dims:
                self.expect(",", "',' or ']' in a shape")
            if _INT.match(self.text, self.pos):
                dims.append(self.integer())
            else:
                dims.append(self.regex(_IDENT, "a dimension (an integer or a size name)"))
        return TensorT(name, tuple(dims))

    def typed_value(self) -> tuple[str, Type]:
        name = self.name_ref()
        self.expect(": ", "': ' before a type")
        return name, self.type()

    def typed_list(self) -> list[tuple[str, Type]]:
        self.expect("(", "'(' opening a list of %name: type")
        return self.delimited(")", self.typed_value, "%name: type")

    # --- operands ---
    def operand(self, allow_kwarg: bool = False) -> Operand | Kwarg:
        if self.peek("%"):
            return Ref(self.name_ref())
        if self.peek('"'):
            return self.string()
        if self.accept("["):
            return self.delimited("]", self.operand, "a list item")
        if self.accept("("):
            return tuple(self.delimited(")", self.operand, "a tuple item", one_tuple=True))
        if self.accept("{"):
            return DictLit(tuple(self.delimited("}", self._pair, "a dict item")))
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            text = m.group(0)
            return int(text) if _INT.fullmatch(text) else float(text)
        word = self.regex(_DOTTED, "an operand (%name, number, string, list, tuple, None, "
                                   "True, False, torch.<name>, name(...) or name=value)")
        if allow_kwarg and self.peek("=") and _IDENT.fullmatch(word):
            self.pos += 1
            return Kwarg(word, self.operand())
        if self.accept("("):
            return Call(word, tuple(self.delimited(")", self.operand, "an argument")))
        if word in _KEYWORDS:
            return _KEYWORDS[word]
        return Atom(word)

    def _pair(self) -> tuple[Operand, Operand]:
        key = self.operand()
        self.expect(": ", "': ' after a dict key")
        return key, self.operand()

    def operands(self) -> list[Operand | Kwarg]:
        """An op's operand list, keyword operands included: `(%x, 1, dim=-1)`."""
        self.expect("(", "'(' opening the operands")
        return self.delimited(")", lambda: self.operand(allow_kwarg=True), "an operand")


class _Lines:
    """The lines of a dump with their numbers; blank lines separate sections and are skipped."""

    def __init__(self, text: str, where: str | None) -> None:
        raw = text.split("\n")
        if raw and raw[-1] == "":
            raw.pop()
        self.lines = list(enumerate(raw, start=1))
        self.i = 0
        self.where = where

    def skip_blank(self) -> None:
        while self.i < len(self.lines) and self.lines[self.i][1].strip() == "":
            self.i += 1

    def peek(self) -> tuple[int, str] | None:
        self.skip_blank()
        return self.lines[self.i] if self.i < len(self.lines) else None

    def next(self, expected: str) -> _Cursor:
        line = self.peek()
        if line is None:
            last = self.lines[-1][0] + 1 if self.lines else 1
            raise IRParseError(last, expected, "end of file", where=self.where)
        self.i += 1
        return _Cursor(line[1], line[0], self.where)

    def next_if(self, prefix: str) -> _Cursor | None:
        line = self.peek()
        if line is not None and line[1].startswith(prefix):
            return self.next(prefix)
        return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _parse_header(lines: _Lines) -> Header:
    c = lines.next(repr(FORMAT_LINE))
    c.expect(FORMAT_LINE, f"{FORMAT_LINE!r} as the first line")
    c.done()
    c = lines.next("the model line")
    c.expect("model ", "'model \"<name>\" file \"<file>\" class \"<class>\"'")
    model = c.string()
    c.expect(" file ", "' file \"<file>\"'")
    file = c.string()
    c.expect(" class ", "' class \"<class>\"'")
    class_name = c.string()
    c.done()
    c = lines.next("the frontend line")
    c.expect("frontend ", "'frontend \"<front end>\"'")
    header = Header(model=model, file=file, class_name=class_name, frontend=c.string())
    c.done()
    for keyword, into in (("specialized ", header.specialized),
                          ("unclassified ", header.unclassified), ("note ", header.notes)):
        while (c := lines.next_if(keyword)) is not None:
            c.expect(keyword)
            into.append(c.string())
            c.done()
    c = lines.next("the op count line")
    c.expect("ops ", "'ops N (compute C, weight W, plumbing P)' (or a header line before it)")
    header.op_count = c.integer()
    c.expect(" (compute ", "' (compute C'")
    header.compute_count = c.integer()
    c.expect(", weight ", "', weight W'")
    header.weight_count = c.integer()
    c.expect(", plumbing ", "', plumbing P'")
    header.plumbing_count = c.integer()
    c.expect(")")
    c.done()
    return header


def _section(lines: _Lines, name: str) -> None:
    c = lines.next(f"the section line {name!r}")
    c.expect(name, f"the section line {name!r}")
    c.done()


def _items(lines: _Lines) -> Iterator[_Cursor]:
    """The indented lines of a section, each positioned after its two-space indent."""
    while (line := lines.peek()) is not None and line[1].startswith("  "):
        c = lines.next("")
        c.expect("  ")
        if c.peek(" "):
            raise c.fail("an item indented by exactly two spaces")
        yield c


def _parse_op(c: _Cursor) -> OpDoc:
    c.expect("#", "'#<index> %name: type = op(operands) class'")
    index = c.integer("an op index")
    c.expect(" ")
    name = c.name_ref()
    c.expect(": ", "': ' before the result type")
    typ = c.type()
    c.expect(" = ", "' = ' before the op")
    target = c.word_or_string(_DOTTED, "an op such as aten.linear.default or getitem")
    operands = c.operands()
    c.expect(" ", "' ' before the op class")
    op_class = c.regex(_IDENT, f"an op class ({', '.join(OP_CLASSES)})")
    if op_class not in OP_CLASSES:
        c.pos -= len(op_class)
        raise c.fail(f"an op class ({', '.join(OP_CLASSES)})")
    role = op_class
    if c.accept(" as "):
        role = c.regex(_IDENT, f"a role ({', '.join(ROLES)})")
        if role not in ROLES or role == op_class:
            c.pos -= len(role)
            raise c.fail(f"a role other than the op class ({', '.join(ROLES)})")
    module = None
    if c.accept(" @"):
        module = c.word_or_string(_WORD, "a module path")
    c.done()
    return OpDoc(index=index, name=name, type=typ, target=target, operands=operands,
                 op_class=op_class, role=role, module=module)


def _parse_weight(c: _Cursor) -> WeightDoc:
    name = c.name_ref()
    c.expect(": ", "': ' before the weight's type")
    typ = c.type()
    c.expect(" = ", "' = ' before the weight's kind")
    kind = c.regex(_IDENT, f"a weight kind ({', '.join(WEIGHT_KINDS)})")
    if kind not in WEIGHT_KINDS:
        c.pos -= len(kind)
        raise c.fail(f"a weight kind ({', '.join(WEIGHT_KINDS)})")
    c.expect(" ", "' \"<fqn>\"'")
    weight = WeightDoc(name=name, type=typ, kind=kind, fqn=c.string())
    if c.accept(" aliases "):
        start = c.pos
        aliases = c.operand()
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            c.pos = start
            raise c.fail("a list of quoted names after 'aliases'")
        weight.aliases = aliases
    if c.accept(" nonpersistent"):
        weight.persistent = False
    c.done()
    return weight


def _parse_component(lines: _Lines, depth: int) -> ComponentDoc:
    c = lines.next("a component")
    pad = "  " * depth
    c.expect(pad, f"a component indented by {len(pad)} spaces")
    level = c.regex(_IDENT, f"a level ({', '.join(LEVELS)})")
    if level not in LEVELS:
        c.pos -= len(level)
        raise c.fail(f"a level ({', '.join(LEVELS)})")
    c.expect(" ", "' ' before the component id")
    cid = c.regex(_WORD, "a component id")
    c.expect(" ", "' \"<label>\"'")
    label = c.string()
    c.expect(" [", "' [start..end]'")
    start = c.integer("the range's start")
    c.expect("..", "'..' in the range")
    end = c.integer("the range's end")
    c.expect("]", "']' closing the range")
    attrs: dict[str, str] = {}
    while c.accept(" "):
        if c.accept("x"):
            instances = c.integer("the instance count after x")
            break
        key = c.regex(_IDENT, f"an attribute ({', '.join(_ATTR_KEYS)}) or xN")
        if key not in _ATTR_KEYS or key in attrs or \
                _ATTR_KEYS.index(key) < max((_ATTR_KEYS.index(k) for k in attrs), default=-1):
            c.pos -= len(key)
            raise c.fail(f"an attribute in the order {', '.join(_ATTR_KEYS)}, once each")
        c.expect("=", f"'=' after {key}")
        attrs[key] = c.word_or_string(_WORD, "a word") if key == "origin" else c.string()
    else:
        raise c.fail("' xN' (the instance count) ending the component line")
    c.done()
    if "origin" not in attrs:
        raise IRParseError(c.lineno, "an origin=... attribute", "none", where=c.where)
    comp = ComponentDoc(level=level, cid=cid, label=label, start=start, end=end,
                        origin=attrs["origin"], module_path=attrs.get("module"),
                        module_class=attrs.get("class"), name=attrs.get("name", ""),
                        key=attrs.get("key", ""), instances=instances)
    inner = pad + "  "
    c = lines.next("the component's 'in (...)' line")
    c.expect(inner + "in ", f"'{inner}in (...)'")
    comp.inputs = c.typed_list()
    c.done()
    c = lines.next("the component's 'out (...)' line")
    c.expect(inner + "out ", f"'{inner}out (...)'")
    comp.outputs = c.typed_list()
    c.done()
    if (c := lines.next_if(inner + "owns ")) is not None:
        c.expect(inner + "owns ")
        comp.owns.append(c.name_ref())
        while c.accept(", "):
            comp.owns.append(c.name_ref())
        c.done()
    while (c := lines.next_if(inner + "note ")) is not None:
        c.expect(inner + "note ")
        comp.notes.append(c.string())
        c.done()
    while (line := lines.peek()) is not None and _indent(line[1]) > len(pad):
        if _indent(line[1]) != len(inner):
            c = lines.next("")
            raise c.fail(f"a child component indented by {len(inner)} spaces")
        comp.children.append(_parse_component(lines, depth + 1))
    return comp


def parse(text: str, where: str | None = None) -> Document:
    """Read a dump back into a Document; a line off the grammar raises IRParseError.

    `where` (a file name) goes into the error message.
    """
    lines = _Lines(text, where)
    doc = Document(header=_parse_header(lines))
    _section(lines, "inputs:")
    for c in _items(lines):
        name = c.name_ref()
        c.expect(": ", "': ' before the input's type")
        doc.inputs.append(InputDoc(name, c.type()))
        c.done()
    _section(lines, "weights:")
    doc.weights = [_parse_weight(c) for c in _items(lines)]
    _section(lines, "ops:")
    doc.ops = [_parse_op(c) for c in _items(lines)]
    _section(lines, "components:")
    if (line := lines.peek()) is not None and line[1].startswith("  "):
        doc.root = _parse_component(lines, 1)
    c = lines.next("'return <value>'")
    c.expect("return ", "'return <value>' (or a component indented by two spaces)")
    doc.output = c.operand()
    c.done()
    if (line := lines.peek()) is not None:
        raise IRParseError(line[0], "end of file after the return line", repr(line[1][:40]),
                           where=where)
    return doc
