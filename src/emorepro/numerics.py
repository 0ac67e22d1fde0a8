"""One set of CPU kernels for every machine, so a seeded CPU run gives the same numbers.

torch, MKL and oneDNN pick their float kernels by the CPU they find (AVX2, AVX-512, AMX):
the sums are ordered differently and float32 training drifts apart. On the 2-core CI kind
the tiny speech network of Tzirakis et al. (recola46) reached test arousal CCC 0.41 with
AVX-512 kernels and 0.78 with AVX2 kernels from the same inputs and seed. Importing
:mod:`emorepro` therefore pins, unless the variable is already set:

* ``ATEN_CPU_CAPABILITY=avx2``: torch's own vectorised kernels;
* ``MKL_CBWR=AVX2``: MKL's conditional numerical reproducibility branch (BLAS in torch);
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN (convolutions, RNNs).

Every x86-64 CPU of the last decade (Intel since Haswell, AMD since Zen) runs the AVX2 path
of torch and oneDNN. MKL honours ``MKL_CBWR=AVX2`` on Intel CPUs only: on an AMD EPYC its
verbose log reports ``CNR:AUTO`` (only ``COMPATIBLE`` is honoured there), so float32 numbers
still differ between Intel and AMD machines, and the regression expectations are kept per
CPU vendor (:func:`cpu_identity`, :mod:`emorepro.regression`). They take effect if set
before torch runs its first kernel (importing torch before emorepro is fine: checked bit for
bit on a conv + LSTM step); the Snakemake scripts and the tests import emorepro before any
kernel runs. Set a variable yourself to opt out, e.g. ``ATEN_CPU_CAPABILITY=default`` on an
older CPU or ``avx512`` for speed; the regression of reproduced numbers records the kernels
its expectations came from (:func:`cpu_kernels`).
GPU kernels are not affected.
"""

from __future__ import annotations

import os
import platform

#: environment variable -> value pinned on x86-64
CPU_KERNEL_PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}


def pin_cpu_kernels(environ: dict[str, str] | None = None, *, machine: str | None = None) -> None:
    """Set each :data:`CPU_KERNEL_PINS` variable not already set (x86-64 only; elsewhere
    the variables mean nothing and nothing is set)."""
    env = os.environ if environ is None else environ
    arch = (machine or platform.machine()).lower()
    if arch not in {"x86_64", "amd64"}:
        return
    for key, value in CPU_KERNEL_PINS.items():
        env.setdefault(key, value)


def cpu_kernels() -> dict[str, str]:
    """The CPU kernels in force: torch's capability as it reports it, and the MKL and oneDNN
    settings (``auto`` where unset)."""
    import torch

    return {
        "torch": str(torch.backends.cpu.get_cpu_capability()),
        "mkl_cbwr": os.environ.get("MKL_CBWR", "auto"),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "auto"),
    }


def cpu_identity(cpuinfo: str | None = None) -> dict[str, str]:
    """The CPU vendor and model as ``/proc/cpuinfo`` names them (``unknown`` elsewhere):
    float32 training numbers depend on them (module docstring). ``cpuinfo`` is for tests."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return {
        "vendor": fields.get("vendor_id", "unknown") or "unknown",
        "model": fields.get("model name", platform.processor() or "unknown") or "unknown",
    }
