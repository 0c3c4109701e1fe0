# Template of every component file: level_*/<name>.py and steps/*/children/<name>.py.
# Filled by codegen/files.py (component_module) through codegen/template.py. Placeholders:
#   __header__        the specification's header docstring
#   __buffers__       the load of the .buffers.pt sidecar (statements.py: load_buffers), or nothing
#   __functions__     the loop functions forward() calls (codegen/loop_source.py), or nothing
#   __init_body__     the weights and builtin modules, one statement each
#   __params__        forward()'s parameters after self
#   __forward_body__  the rendered forward(), ending in its return
#   __inputs__        the list get_inputs() returns
#   __shapes__        the expected output shapes, in return order
#   __allow_inf__     True where infinities are a correct output
#   __run_tests__     run_tests() and the main guard (run_tests.py)
__header__

import torch
import torch.nn as nn
import torch.nn.functional as F
__buffers__
__functions__


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        __init_body__

    def forward(self, __params__):
        __forward_body__


def get_inputs():
    return __inputs__


def get_init_inputs():
    return []


def get_expected_output_shape():
    return __shapes__


# Masking with -inf (attention masks) makes infinities a correct output.
ALLOW_INF = __allow_inf__


__run_tests__
