"""The pass pipeline: one ordered list of small named passes, each `IR -> IR`.

Order matters and each pass says in its docstring what it needs and what it guarantees; the IR
verifier (hdecomp_ir.ir_verifier) checks the invariants before the pipeline and after every pass
in tests and with `--verify-each`.
"""

from __future__ import annotations

from typing import Callable

from hdecomp_ir.ir import IR
from passes.assign_names import assign_names
from passes.classify_levels import classify_levels
from passes.dedup_workloads import dedup_workloads
from passes.form_kernels import form_kernels
from passes.form_pattern_kernels import form_pattern_kernels
from passes.group_fusions import group_fusions
from passes.group_layers import group_layers
from passes.sink_weight_chains import sink_weight_chains

Pass = Callable[[IR], IR]

PIPELINE: list[tuple[str, Pass]] = [
    # Kernels are op ranges: a weight slice shared by two consumers must first be copied.
    ("sink_weight_chains", sink_weight_chains),
    # Semantic kernels first: everything later groups kernels, never raw ops.
    ("form_kernels", form_kernels),
    # Functions written inline (an RMSNorm in a block's forward) join the same way, by their ops.
    ("form_pattern_kernels", form_pattern_kernels),
    # The root's level decides which grouping passes have work to do.
    ("classify_levels", classify_levels),
    # Layers come from the module hierarchy, so they are cut before fusions inside them.
    ("group_layers", group_layers),
    ("group_fusions", group_fusions),
    # Keys hash the final structure; names need keys to tell workloads apart.
    ("dedup_workloads", dedup_workloads),
    ("assign_names", assign_names),
]

PASS_NAMES = [name for name, _ in PIPELINE]


def select(names: list[str] | None) -> list[tuple[str, Pass]]:
    """The pipeline restricted to `names` (in pipeline order); unknown names are an error."""
    if names is None:
        return list(PIPELINE)
    from hdecomp_ir.errors import UserInputError

    unknown = [n for n in names if n not in PASS_NAMES]
    if unknown:
        raise UserInputError(f"unknown pass {unknown[0]!r}",
                             fix="valid passes: " + ", ".join(PASS_NAMES))
    return [(n, p) for n, p in PIPELINE if n in names]
