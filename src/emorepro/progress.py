"""Progress lines for long per-item loops, written through the ``emorepro`` logger."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("emorepro")


class Progress:
    """``<label>: i/n <unit> (elapsed, ~remaining)``: a line for every item when there are at
    most 100 (long recordings), else every 25th item and the last."""

    def __init__(self, label: str, n: int, unit: str = "items") -> None:
        self.label, self.n, self.unit = label, n, unit
        self.every = 1 if n <= 100 else 25
        self.t0 = time.perf_counter()

    def step(self, i: int) -> None:
        """Report that ``i`` of ``n`` items are done."""
        if i % self.every and i != self.n:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed / i * (self.n - i)
        log.info("%s: %d/%d %s (%.0f s, ~%.0f s left)", self.label, i, self.n, self.unit,
                 elapsed, left)  # fmt: skip
