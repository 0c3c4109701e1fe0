"""The allow-lists every Python file under a step is judged against.

A step's files are written by an adversary who has read this code, so the rules name what IS
allowed and refuse the rest: which modules may be imported, which parts of torch may be reached,
which builtins may be named, which attributes may be read. A name the tables do not know is a
violation with its file:line, never silently allowed.

Decisions, with the reason for each:

- Importable: torch, torch.nn (and its modules, init, functional, parameter), torch.fft,
  torch.linalg, torch.special, math, typing, einops (+ einops.layers.torch), `__future__` and the
  step's own children. refactored.py may also import sys, os and pathlib.Path for the one
  `sys.path` line the specification prescribes; a child may import pathlib.Path for the one
  buffer-sidecar load the code generator writes; the self-test harness (run_tests and the
  `__main__` block) may import sys and traceback. Those names are refused anywhere else.
- Of torch, refused: every `_`-prefixed name (torch._C, torch._dynamo …); torch.ops (custom and
  aten ops are how an op hides from the name-based rules; the code generator writes torch-level
  calls, codegen/torch_calls.py); torch.library and
  torch.overrides (they replace kernels or install modes that hide ops from the guard);
  torch.utils entirely (cpp_extension compiles native code, _pytree/data/hooks are not model code;
  torch.utils.checkpoint only matters for training and takes an arbitrary callable, so it is
  refused too); torch.nn.utils except rnn/parametrizations/parametrize/weight_norm/spectral_norm
  (legitimate model code); torch.jit except is_scripting/is_tracing (scripted code runs in the
  TorchScript interpreter, outside the Python dispatch the guard watches); torch.autograd except
  Function (autograd.graph installs saved-tensor hooks, forward_ad and functional run code the
  guard does not see as ops); torch.fx, torch.func, vmap, compile, export, cond (they trace and
  re-run code); torch.backends and torch.set_* (process-wide numeric settings); torch.load/save,
  torch.hub and friends (files); torch.cuda except is_available/device_count.
- Builtins: containers, numbers, iteration and the common exceptions. Refused: getattr, setattr,
  delattr, vars, globals, locals, type, object, eval, exec, compile, open, __import__, breakpoint,
  input, memoryview, help and every name the file does not define (a name nobody defines can only
  be resolved through a module table another file patched).
- Attributes: dunders only `__init__` (`super().__init__()`); `_`-names only on `self`, and not
  nn.Module's own internals (`self._modules`, `self._forward_hooks` …); never frame, traceback or
  code-object fields (tb_frame, f_back, f_globals, gi_frame, co_code …), which reach the verifier's
  frames without a single dunder.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Sequence

import torch

# Modules a step file may import or reach through attributes.
ALLOWED_MODULES = frozenset({
    "torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.parameter",
    "torch.nn.common_types", "torch.nn.utils.rnn", "torch.nn.utils.parametrizations",
    "torch.nn.utils.parametrize", "torch.nn.utils.weight_norm", "torch.nn.utils.spectral_norm",
    "torch.fft", "torch.linalg", "torch.special", "math", "typing", "einops",
    "einops.layers.torch", "__future__",
})
# torch.nn's module tree (torch.nn.modules.linear …) is model code; these parts of it are not.
_NN_REFUSED = ("torch.nn.utils", "torch.nn.parallel", "torch.nn.backends", "torch.nn.quantized",
               "torch.nn.qat", "torch.nn.intrinsic", "torch.nn.attention")
# Modules whose namespace is refused except for the few names listed.
LIMITED_MODULES: dict[str, frozenset[str]] = {
    "torch.autograd": frozenset({"Function"}),
    "torch.jit": frozenset({"is_scripting", "is_tracing"}),
    "torch.cuda": frozenset({"is_available", "device_count"}),
    "torch.nn.utils": frozenset({"rnn", "parametrizations", "parametrize", "weight_norm",
                                 "spectral_norm"}),
}
# Top-level torch names that are not modules but still reach outside model code.
REFUSED_TORCH_NAMES = frozenset({
    "compile", "export", "vmap", "cond", "while_loop", "classes", "ops", "library", "overrides",
    "from_file", "use_deterministic_algorithms", "UntypedStorage", "TypedStorage",
    "register_autograd", "Generator", "set_default_dtype", "set_default_device",
    "set_default_tensor_type", "set_flush_denormal", "set_float32_matmul_precision",
    "set_num_threads", "set_num_interop_threads", "set_printoptions", "set_warn_always",
    "set_deterministic_debug_mode", "set_autocast_enabled", "set_anomaly_enabled",
})
TYPING_NAMES = frozenset({
    "Any", "Optional", "Union", "List", "Tuple", "Dict", "Set", "FrozenSet", "Sequence",
    "Mapping", "Iterable", "Iterator", "Callable", "Literal", "Final", "ClassVar", "Type",
    "TypeVar", "overload", "cast", "TYPE_CHECKING", "NamedTuple", "Generic", "Protocol",
})
EINOPS_NAMES = frozenset({"rearrange", "repeat", "reduce", "einsum", "pack", "unpack",
                          "parse_shape", "layers", "Rearrange", "Repeat", "Reduce", "EinMix"})

# Builtins a step file may name. (The parent's own plumbing table, SAFE_BUILTINS, is stricter.)
ALLOWED_BUILTINS = frozenset({
    "None", "True", "False", "Ellipsis", "NotImplemented",
    "len", "range", "int", "float", "bool", "str", "complex", "tuple", "list", "dict", "set",
    "frozenset", "slice", "zip", "enumerate", "isinstance", "issubclass", "min", "max", "abs",
    "round", "sum", "sorted", "reversed", "any", "all", "print", "divmod", "pow", "hasattr",
    "iter", "next", "map", "filter", "super", "repr", "format", "callable", "chr", "ord", "hash",
    "staticmethod", "classmethod", "property",
    "Exception", "ValueError", "RuntimeError", "AssertionError", "TypeError",
    "NotImplementedError", "KeyError", "IndexError", "AttributeError", "StopIteration",
    "ZeroDivisionError", "ArithmeticError", "OverflowError", "LookupError", "ImportError",
    "ModuleNotFoundError", "UserWarning", "DeprecationWarning",
})
# Builtins that build names or code at run time or walk the object graph: `dynamic_code`.
DYNAMIC_BUILTINS = frozenset({"eval", "exec", "compile", "getattr", "setattr", "delattr",
                              "__import__", "globals", "locals", "vars", "breakpoint", "input",
                              "type", "object", "memoryview", "help", "dir", "id", "exit",
                              "quit", "__build_class__", "classmethod_descriptor"})

ALLOWED_ATTRIBUTE_DUNDERS = frozenset({"__init__"})
# Attributes of frames, tracebacks, generators, coroutines and code objects: each reaches the
# interpreter's frames (and so the verifier's locals) without a dunder in sight.
FRAME_ATTRIBUTES = frozenset({
    "tb_frame", "tb_next", "tb_lasti", "tb_lineno", "f_back", "f_globals", "f_locals",
    "f_builtins", "f_code", "f_lasti", "f_lineno", "f_trace", "f_trace_lines",
    "f_trace_opcodes", "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
    "cr_frame", "cr_code", "cr_await", "cr_origin", "ag_frame", "ag_code", "ag_await",
    "co_code", "co_consts", "co_names", "co_varnames", "co_filename", "co_lines",
    "co_positions", "func_globals", "func_code", "with_traceback", "mro",
})
# nn.Module's private state and machinery: `self._modules[...]`, `self._forward_hooks[...] = h`
# and friends change how modules are called, found or transferred without a public call.
MODULE_PRIVATE = frozenset(
    {n for n in dir(torch.nn.Module) if n.startswith("_") and not n.startswith("__")} |
    {n for n in vars(torch.nn.Module()) if n.startswith("_")})
MODULE_PUBLIC_API = frozenset(n for n in dir(torch.nn.Module) if not n.startswith("_"))
# Methods a child's module class may define although nn.Module has them.
CHILD_OVERRIDABLE = frozenset({"forward", "extra_repr", "reset_parameters"})

# The self-test harness may use these, and only there (it never runs during verification).
HARNESS_MODULES = frozenset({"sys", "traceback"})
HARNESS_PATHS = frozenset({("sys", "exit"), ("traceback", "print_exc")})


def module_allowed(name: str) -> bool:
    """Whether a dotted module name may be imported or reached through attributes."""
    if name in ALLOWED_MODULES:
        return True
    if name.startswith("torch.nn.") and not any(name == p or name.startswith(p + ".")
                                                for p in _NN_REFUSED):
        return not any(part.startswith("_") for part in name.split("."))
    return any(name == p or name.startswith(p + ".") for p in ALLOWED_MODULES
               if p.startswith("torch.nn.utils.") or p.startswith("einops."))


def check_torch_path(path: Sequence[str]) -> tuple[str, str] | None:
    """(rule, why) when a dotted path rooted at torch leaves the allow-list, else None.

    File, re-seeding and private names are reported by their own rules (file_io, reseed,
    private_access) and return None here.
    """
    text = ".".join(path)
    if len(path) >= 2 and path[1] == "ops":
        return "forbidden_api", (f"`{text}`: torch.ops is refused (an op called by its dispatcher "
                                 "name hides from the rules); use the torch / F function")
    if any(part.startswith("_") for part in path[1:]):
        return None  # private_access reports it
    if any(part.startswith("register_module_") for part in path):
        return "forbidden_api", (f"`{text}` installs a hook on every module of the process (the "
                                 "verifier's too); hooks on the child's own modules are fine")
    if len(path) >= 2 and (path[1] in REFUSED_TORCH_NAMES or path[1].startswith("set_")):
        return "forbidden_api", f"`{text}` is outside the torch allow-list (it changes or leaves " \
                                "the process's torch, not the values)"
    obj: Any = torch
    for i, part in enumerate(path[1:], start=1):
        here = ".".join(path[:i])
        if here in LIMITED_MODULES:
            if part in LIMITED_MODULES[here]:
                name = f"{here}.{part}"
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    return "forbidden_api", f"`{text}`: torch has no `{name}`"
                if isinstance(obj, types.ModuleType) and not module_allowed(obj.__name__):
                    return "forbidden_api", f"`{text}`: module `{obj.__name__}` is not allowed"
                continue
            return "forbidden_api", (f"`{text}`: of `{here}` only "
                                     f"{', '.join(sorted(LIMITED_MODULES[here]))} may be used")
        try:
            obj = getattr(obj, part)
        except (AttributeError, ImportError, RuntimeError):
            return None  # not torch's: the other rules (or Python) refuse it
        if isinstance(obj, types.ModuleType):
            name = obj.__name__
            if name in LIMITED_MODULES or f"{here}.{part}" in LIMITED_MODULES:
                continue
            if not module_allowed(name) and not module_allowed(f"{here}.{part}"):
                return "forbidden_api", (f"`{text}` reaches module `{name}`, which is not on the "
                                         "allow-list (torch, torch.nn, torch.nn.functional, "
                                         "torch.fft/linalg/special, math, typing, einops)")
        if not isinstance(obj, types.ModuleType):
            break  # attributes of a torch object (torch.Tensor.view …) are judged as attributes
    return None


def check_library_name(module: str, name: str) -> tuple[str, str] | None:
    """(rule, why) for `from <module> import <name>` with a non-torch allowed module."""
    if name.startswith("_"):
        return "private_access", f"imports private `{module}.{name}`"
    if module == "typing" and name not in TYPING_NAMES:
        return "forbidden_api", (f"`typing.{name}` is not on the allow-list (get_type_hints and "
                                 "friends evaluate strings)")
    if module == "einops" and name not in EINOPS_NAMES:
        return "forbidden_api", f"`einops.{name}` is not on the allow-list"
    if module == "math":
        return None
    return None


def is_stdlib_or_installed(name: str) -> bool:
    """Whether a top-level name is a module Python would find before a child of that name."""
    return name in sys.stdlib_module_names or name in sys.builtin_module_names or \
        name in ("torch", "einops", "typing", "numpy", "children", "original", "refactored")
