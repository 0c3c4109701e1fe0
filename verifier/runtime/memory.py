"""Memory: estimate what a verification will need before any real tensor is allocated.

The original is built and run on the meta device (shapes only, no data), which gives the bytes of
its parameters and buffers, its inputs, its outputs and the peak of live intermediates. The
verification holds more than one forward does: the refactored model next to the original's
state, pristine inputs next to the ones a forward may overwrite, every trial's original
outputs in the judging process, and for a bf16/fp16 original its reference run: after its own
trials the original is converted in place to float64 (four times a bf16 model's bytes), or to
float32 (twice) when float64 does not fit, and run once per trial. `MemoryEstimate.need()` adds
those up; `check()` picks the reference's dtype.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Refuse when the estimate exceeds this share of what is available: the estimate ignores
# allocator slack and the interpreter itself.
HEADROOM = 0.9


@dataclass
class MemoryEstimate:
    """Bytes measured on the meta device."""

    params: int
    inputs: int
    outputs: int
    forward_peak: int
    # How many times its own bytes the reference run's weights take (4.0: float64 of a bf16/fp16
    # original, 2.0: float32; 0: no reference run).
    reference_scale: float = 0.0
    # Why the forward could not run on meta (outputs and peak then count as 0: a lower bound).
    forward_unknown: str | None = None

    def need(self, trials: int) -> int:
        """Peak bytes of a verification: the worker's larger phase plus the judging process.

        The worker first holds the weights twice (the model and the state it saves), then runs
        the trials; the reference run comes after them, on the same weights converted in place,
        so it replaces the original's bytes instead of adding to them."""
        worker = 2 * self.params + 2 * self.inputs + self.forward_peak
        judge = (trials + 1) * self.outputs + self.inputs
        return max(worker, 2 * self.inputs + self.reference(trials)) + judge

    def reference(self, trials: int) -> int:
        """Bytes of the reference run: its weights, its forward, and its outputs per trial."""
        scale = self.reference_scale
        return int(scale * (self.params + self.forward_peak + trials * self.outputs))

    def reference_dtype(self) -> str | None:
        """`float64`, `float32`, or None when there is no reference run."""
        return {4.0: "float64", 2.0: "float32"}.get(self.reference_scale)

    def to_json(self, trials: int) -> dict[str, Any]:
        return {"params_bytes": self.params, "inputs_bytes": self.inputs,
                "outputs_bytes": self.outputs, "forward_peak_bytes": self.forward_peak,
                "reference_bytes": self.reference(trials),
                "reference_dtype": self.reference_dtype(),
                "estimated_need_bytes": self.need(trials),
                **({"forward_unknown": self.forward_unknown} if self.forward_unknown else {})}


def human(nbytes: float) -> str:
    """`1.5 GiB`, `12.0 MiB`."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"


def available_host_bytes() -> int | None:
    """MemAvailable, capped by the cgroup limit when one is set."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            raw = Path(limit_file).read_text().strip()
            if raw == "max":
                continue
            limit = int(raw)
            if limit >= 1 << 60:
                continue
            free = limit - int(Path(usage_file).read_text().strip())
            avail = free if avail is None else min(avail, free)
        except (OSError, ValueError):
            continue
    return avail


def available_device_bytes(device: str) -> int | None:
    """Free accelerator memory; None on CPU."""
    if not device.startswith("cuda"):
        return None
    import torch

    free, _total = torch.cuda.mem_get_info()
    return int(free)


def check(estimate: MemoryEstimate, trials: int, device: str) -> tuple[bool, str, dict[str, Any]]:
    """(fits, message, JSON record) for an estimate against this machine.

    A float64 reference run that does not fit falls back to a float32 one (still exact to well
    below a bf16/fp16 original's own rounding, which is what the reference rule measures); the
    record's `reference_dtype` says which the worker runs. `estimate` is updated to it."""
    host = available_host_bytes()
    if estimate.reference_scale == 4.0 and host is not None and \
            estimate.need(trials) > HEADROOM * host:
        # Refused either way, the message then names the smaller, float32, figure.
        estimate.reference_scale = 2.0
    need = estimate.need(trials)
    record = estimate.to_json(trials)
    record["available_host_bytes"] = host
    record["cpu_count"] = os.cpu_count()
    if device.startswith("cuda"):
        dev_need = estimate.params + estimate.inputs + estimate.forward_peak
        dev_free = available_device_bytes(device)
        record["available_device_bytes"] = dev_free
        record["device_need_bytes"] = dev_need
        if dev_free is not None and dev_need > HEADROOM * dev_free:
            return False, (f"needs about {human(dev_need)} of {device} memory (parameters "
                           f"{human(estimate.params)}, inputs {human(estimate.inputs)}, forward peak "
                           f"{human(estimate.forward_peak)}) but {human(dev_free)} is free"), record
        need = need - estimate.forward_peak  # the forward's intermediates live on the device
        record["estimated_need_bytes"] = need
    if host is not None and need > HEADROOM * host:
        reference = estimate.reference(trials)
        also = f", {estimate.reference_dtype()} reference {human(reference)}" if reference else ""
        if estimate.forward_unknown:
            also += "; its forward's own memory, not measurable on meta, comes on top"
        return False, (f"needs {'at least' if estimate.forward_unknown else 'about'} {human(need)} of RAM (parameters {human(estimate.params)}, "
                       f"inputs {human(estimate.inputs)}, outputs {human(estimate.outputs)} x "
                       f"{trials + 1}, forward peak {human(estimate.forward_peak)}{also}) but "
                       f"{human(host)} is available; run it on a larger machine or with fewer "
                       "trials"), record
    return True, "", record
