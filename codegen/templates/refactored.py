# Template of steps/<step>/refactored.py: the parent rewritten as calls of its children
# (codegen/files.py: refactored_module). Placeholders:
#   __docstring__       the step's one-line docstring
#   __child_imports__   one `from <child> import Model as <Alias>` per child class
#   __init_body__       one `self.<attr> = <Alias>()` per child instance
#   __params__          forward()'s parameters after self
#   __forward_body__    the rendered forward(): child calls and plumbing, ending in its return
#   __inputs__          the list get_inputs() returns
__docstring__

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent / "children"))
__child_imports__


class RefactoredModel(nn.Module):
    def __init__(self):
        super().__init__()
        __init_body__

    def forward(self, __params__):
        __forward_body__


def get_inputs():
    return __inputs__


def get_init_inputs():
    return []
