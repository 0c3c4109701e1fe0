# Statement templates that the module templates are filled with (codegen/files.py). Each
# function's body is one snippet and the function's name is how codegen asks for it
# (codegen/template.py: snippet); the functions themselves are never emitted.


def parameter():
    self.__weight__ = nn.Parameter(__value__)


def buffer():
    self.register_buffer(__weight__, __value__, persistent=__persistent__)


def builtin_module():
    self.__slot__ = __module__


def load_buffers():
    from pathlib import Path

    _BUFFERS = torch.load(Path(__file__).with_suffix('.buffers.pt'), weights_only=True)


def child():
    self.__attr__ = __child_class__()


def child_import():
    from __stem__ import Model as __alias__


def model_alias():
    Model = __model_class__
