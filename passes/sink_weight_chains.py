"""sink_weight_chains: give every consumer its own copy of the weight-only plumbing it reads,
and of the constants (factories and what is built from them alone) it reads.

Needs: a freshly lifted IR (the root has no children yet).
Guarantees: every op whose inputs are all weights (or other such ops), and every non-random
factory op and op built from such alone, has exactly one user and sits right before it; the
IR's op order and op classes are recomputed.

Why: `cos = self.cos_cached[:t]` read by two multiplies far apart would otherwise tie two
kernels together; a private copy per consumer keeps each kernel a contiguous range, so every
later pass can treat components as ranges of the op order.
"""

from __future__ import annotations

from torch import fx

from hdecomp_ir.ir import IR, is_weight_placeholder
from hdecomp_ir.policy import is_random_op
from hdecomp_ir.traced import TracedGraph


def sink_weight_chains(ir: IR) -> IR:
    """Copy weight-only chains next to each consumer and reindex the IR."""
    _sink(ir.traced)
    ir.reindex()
    return ir


def _sink(traced: TracedGraph) -> None:
    graph = traced.graph
    derived: set[fx.Node] = set()
    constants: set[fx.Node] = set()  # the two kinds are not mixed: a weight read at constant
    # indices (T5's bucketed position bias) is a computation of its own, not a copy
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        args = node.all_input_nodes
        if args and all(is_weight_placeholder(traced, a) or (a in derived and a not in constants)
                        for a in args):
            derived.add(node)
        elif not is_random_op(node.target) and all(a in constants for a in args):
            # A factory (`arange`, `ones`) and what is built from it alone: a constant that each
            # consumer computes itself, so that a mask built once at the model's level is
            # rebuilt inside each layer that reads it. Handed over as an input it would be an
            # activation to the layer's step, and its construction compute.
            derived.add(node)
            constants.add(node)
    if not derived:
        return
    for user in list(graph.nodes):
        if user.op != "call_function" or user in derived:
            continue
        copies: dict[fx.Node, fx.Node] = {}

        def copy_of(node: fx.Node) -> fx.Node:
            if node not in derived:
                return node
            if node not in copies:
                for arg in node.all_input_nodes:
                    copy_of(arg)
                with graph.inserting_before(user):
                    copies[node] = graph.node_copy(node, lambda n: copies.get(n, n))
                if node in constants and "nn_module_stack" in user.meta:
                    # the copy is built where it is read: it belongs to the consumer's module,
                    # not to the one that first built the mask
                    copies[node].meta = dict(copies[node].meta,
                                             nn_module_stack=dict(user.meta["nn_module_stack"]))
            return copies[node]

        for arg in user.all_input_nodes:
            if arg in derived:
                user.replace_input_with(arg, copy_of(arg))
    for node in reversed(list(graph.nodes)):
        if node in derived and not node.users:
            graph.erase_node(node)
