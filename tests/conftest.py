"""Import emorepro before any test module imports torch: its CPU-kernel pins
(:mod:`emorepro.numerics`) must be in the environment before torch runs a kernel."""

import emorepro  # noqa: F401
