"""Loading a model file in KernelBench format: `Model`, `get_inputs()`, `get_init_inputs()`.

For lowering, the model and its inputs are built under `torch.device("meta")`, so a model with
gigabytes of parameters or inputs costs no real memory; only verification builds real tensors.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import torch
from torch import nn

from hdecomp_ir.errors import UserInputError, first_line


@dataclass
class LoadedModel:
    """A model file, imported, with its model and inputs built (meta or real)."""

    path: Path
    class_name: str
    module: ModuleType
    model: nn.Module
    inputs: list[Any]
    init_inputs: list[Any]
    device: str

    @property
    def name(self) -> str:
        """Model name: the file stem, as the output directory names it."""
        return self.path.stem


@contextlib.contextmanager
def no_exit(what: str, path: Path) -> Iterator[None]:
    """Turn a `sys.exit()` in user code into bad input: our exit code is ours to decide.

    SystemExit is no Exception, so without this a model that exits while being imported (or in
    its constructor or forward) would end `lower` with the model's exit code and nothing written.
    """
    try:
        yield
    except SystemExit as err:
        raise UserInputError(f"{what} called sys.exit({err.code!r})", where=str(path),
                             fix="remove the exit: a model file is imported, never run as a script"
                             ) from None


def import_file(path: Path, *, alias: str | None = None) -> ModuleType:
    """Import a Python file by path under a name derived from its location."""
    path = Path(path)
    if not path.exists():
        raise UserInputError("file does not exist", where=str(path), fix="check the path")
    if not path.is_file():
        raise UserInputError("not a file", where=str(path), fix="give a .py model file")
    try:
        source = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError("file is not UTF-8 text", where=str(path),
                             fix="save the model file as UTF-8") from None
    try:
        compile(source, str(path), "exec")
    except SyntaxError as err:
        raise UserInputError(f"syntax error at line {err.lineno}: {err.msg}", where=str(path),
                             fix="fix the model file") from None
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = alias or f"hdecomp_model_{path.stem.replace('-', '_')}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    parent = str(path.resolve().parent)
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)  # sibling imports of a multi-file model
    try:
        with no_exit("importing the file", path):
            spec.loader.exec_module(module)
    except UserInputError:
        sys.modules.pop(name, None)
        raise
    except ImportError as err:
        sys.modules.pop(name, None)
        raise UserInputError(f"import failed: {err}", where=str(path),
                             fix="install the missing dependency or fix the import") from None
    except Exception as err:
        sys.modules.pop(name, None)
        raise UserInputError(f"running the file failed: {type(err).__name__}: {first_line(err)}",
                             where=str(path), fix="fix the model file") from None
    finally:
        if added:
            sys.path.remove(parent)
    return module


def _call(module: ModuleType, fn_name: str, path: Path) -> list[Any]:
    fn = getattr(module, fn_name, None)
    if fn is None:
        if fn_name == "get_init_inputs":
            return []
        raise UserInputError(f"no {fn_name}() function", where=str(path),
                             fix=f"define {fn_name}() returning a list of inputs")
    try:
        with no_exit(f"{fn_name}()", path):
            value = fn()
    except UserInputError:
        raise
    except Exception as err:
        raise UserInputError(f"{fn_name}() raised {type(err).__name__}: {first_line(err)}", where=str(path),
                             fix=f"fix {fn_name}()") from None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise UserInputError(f"{fn_name}() returned {type(value).__name__}, not a list",
                             where=str(path), fix=f"return a list from {fn_name}()")
    return value


@contextlib.contextmanager
def parameters_on_meta() -> Iterator[None]:
    """Construct with every parameter moved to the meta device as it is registered, while
    buffers and plain tensor attributes keep their real values.

    Lowering needs the values of the buffers a constructor computes (rotary tables, masks) but
    never the parameters: an 8B model built on the CPU would need 32 GB. A parameter is created
    by `torch.empty` (pages never touched, so no resident memory) and moved before any
    initialiser writes to it; initialisers then run on meta, where they cost nothing.
    """
    original = nn.Module.register_parameter

    def register(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        original(self, name, param)

    nn.Module.register_parameter = register  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


def load_model(path: Path, class_name: str = "Model", *, device: str = "meta",
               meta_parameters: bool = False) -> LoadedModel:
    """Import MODEL_FILE and build its model and inputs on `device` (meta for lowering).

    `meta_parameters` (with a real `device`): parameters on meta, buffers real; see
    `parameters_on_meta`."""
    path = Path(path)
    module = import_file(path)
    cls = getattr(module, class_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise UserInputError(f"no nn.Module class named {class_name!r}", where=str(path),
                             fix="name the class Model or pass --class NAME")
    try:
        if meta_parameters:
            with parameters_on_meta():
                model, init_inputs = _construct(cls, module, class_name, path, device)
        else:
            model, init_inputs = _construct(cls, module, class_name, path, device)
    except UserInputError:
        if device != "meta" and not meta_parameters:
            raise
        if device != "meta":
            # A constructor that reads its own parameters' values: the whole real model.
            model, init_inputs = _construct(cls, module, class_name, path, device)
        else:
            # Constructors that read tensor values (`[x.item() for x in torch.linspace(...)]`
            # for drop-path rates) cannot run on meta: build on the CPU with the parameters on
            # meta, then drop the values.
            try:
                with parameters_on_meta():
                    model, init_inputs = _construct(cls, module, class_name, path, "cpu")
            except UserInputError:
                model, init_inputs = _construct(cls, module, class_name, path, "cpu")
            _move_to_meta(model)
    with torch.device(device):
        inputs = _call(module, "get_inputs", path)
    for i, value in enumerate(inputs):
        if not _is_tensor_tree(value):
            raise UserInputError(f"get_inputs()[{i}] is {type(value).__name__}, not a tensor",
                                 where=str(path), fix="return tensors (or numbers) from get_inputs()")
    model.eval()
    return LoadedModel(path=path, class_name=class_name, module=module, model=model,
                       inputs=inputs, init_inputs=init_inputs, device=device)


def _construct(cls: type, module: ModuleType, class_name: str, path: Path,
               device: str) -> tuple[nn.Module, list[Any]]:
    """`cls(*get_init_inputs())` built on `device`, and the init inputs."""
    with torch.device(device):
        init_inputs = _call(module, "get_init_inputs", path)
        try:
            with no_exit(f"{class_name}(*get_init_inputs())", path):
                return cls(*init_inputs), init_inputs
        except UserInputError:
            raise
        except Exception as err:
            raise UserInputError(f"{class_name}(*get_init_inputs()) raised {type(err).__name__}: "
                                 f"{first_line(err)}", where=str(path),
                                 fix="fix the constructor or get_init_inputs()") from None


def _move_to_meta(model: nn.Module) -> None:
    """Parameters, buffers and plain tensor attributes (`self.h0 = torch.randn(...)`) to meta."""
    model.to("meta")
    for sub in model.modules():
        for name, value in list(vars(sub).items()):
            if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter):
                setattr(sub, name, value.to("meta"))


def _is_tensor_tree(value: Any) -> bool:
    if isinstance(value, (torch.Tensor, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_tensor_tree(v) for v in value)
    return False

