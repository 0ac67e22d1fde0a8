"""emorepro: reproducibility benchmark for audio-visual emotion recognition."""

from emorepro.numerics import pin_cpu_kernels

__version__ = "0.1.0"

# before torch runs a kernel: the same CPU kernels on every x86-64 machine (emorepro.numerics)
pin_cpu_kernels()
