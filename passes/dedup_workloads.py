"""dedup_workloads: give every component its structural key and count instances.

Needs: the final hierarchy (kernels, fusions, layers).
Guarantees: `key` is a hash of the component's canonical code (naming.canonical): components with
equal keys generate identical files; `instances` counts the components sharing a key, so twelve
equal transformer blocks become one layer file and one verified step with twelve instances, and a
kernel workload `(op, parameter shapes, dtypes)` used twelve times is one file.
"""

from __future__ import annotations

from collections import Counter

from hdecomp_ir.ir import IR
from hdecomp_ir.naming import canonical, key_of


def dedup_workloads(ir: IR) -> IR:
    """Set `key` and `instances` on every component."""
    comps = list(ir.root.walk())
    # Children first: a parent's canonical text names its children's keys, so two fusions of the
    # same ops on different shapes (a norm over 512x32 and over 16384) stay two workloads.
    for comp in reversed(comps):
        comp.key = key_of(canonical(ir, comp))
    counts = Counter(c.key for c in comps)
    for comp in comps:
        comp.instances = counts[comp.key]
    return ir
