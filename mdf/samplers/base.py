"""What a sampler is: a small class that advances per-chain state arrays in blocks.

A sampler keeps all of a chain's state (position, log-posterior, adaptation statistics, random
stream) in numpy arrays, so the calibrator can report progress, adapt, checkpoint and resume
between blocks, and a resumed run is bit-identical to an uninterrupted one. Chains run in
parallel threads (the numba kernels release the GIL); each chain's arithmetic and random stream
are its own, so results do not depend on the number of threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np


class Sampler:
    """Base class. Subclasses set ``name`` and implement the three methods below."""

    name = "base"

    def init_state(self, problem, x0: np.ndarray, lp0: np.ndarray, rng: np.ndarray) -> dict:
        """State arrays for chains starting at ``x0`` (chains, d) with log-posteriors ``lp0``.

        ``rng`` holds one xoshiro state per chain (see :func:`mdf.rng.chain_states`).
        """
        raise NotImplementedError

    def run_block(self, problem, state: dict, n_iter: int, thin: int, adapt: bool,
                  threads: int = 1):
        """Advance every chain ``n_iter`` iterations in place.

        Returns ``(x, lp)`` of shapes (chains, n_iter // thin, d) and (chains, n_iter // thin):
        the states kept every ``thin`` iterations.
        """
        raise NotImplementedError

    def acceptance(self, state: dict) -> np.ndarray:
        """Per-chain acceptance rate since the last call to :meth:`reset_counters`."""
        c = state["counts"]
        return c[:, 1] / np.maximum(c[:, 0], 1)

    def reset_counters(self, state: dict) -> None:
        state["counts"][:, :2] = 0

    def end_window(self, state: dict, final: bool) -> None:
        """Called after each burn-in block (windowed adaptation hooks); default: nothing."""

    def rescue(self, state: dict) -> int:
        """Called after early burn-in blocks; may restart lagging chains. Returns how many."""
        return 0

    def config(self) -> dict:
        """Settings recorded in the output file."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def map_chains(fn, n_chains: int, threads: int):
    """Run ``fn(c)`` for every chain, on ``threads`` threads; results in chain order."""
    if threads <= 1 or n_chains == 1:
        return [fn(c) for c in range(n_chains)]
    with ThreadPoolExecutor(max_workers=min(threads, n_chains)) as pool:
        return list(pool.map(fn, range(n_chains)))
