"""Peak memory and time of ``dalec-mdf merge`` for a run folder and a replicated copy of it.

Run: ``python benchmarks/merge_memory.py RUN_DIR [--replicate 10]``. The copy lists every
result ``--replicate`` times under new ids (symbolic links, no new files), so the product has
``replicate`` times as many pixels; a streaming merge needs the same memory for both. Each
merge runs in a fresh process and reports its peak resident set (``VmHWM``, which unlike
``ru_maxrss`` does not carry over the parent's peak through ``fork``/``exec``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mdf.pixels import PixelSet
from mdf.runfolder import RunFolder

CHILD = r"""
import re, sys, time
from mdf.merge import merge
t = time.perf_counter()
merge(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t
hwm = re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1)
print(hwm, seconds)
"""


def merge_peak(run_dir, out) -> tuple[float, float]:
    """Peak RSS [MiB] and seconds of merging ``run_dir`` in a fresh process."""
    text = subprocess.run([sys.executable, "-c", CHILD, str(run_dir), str(out)], check=True,
                          capture_output=True, text=True).stdout.split()
    return float(text[0]) / 1024, float(text[1])


def replicate(run_dir, target, times: int) -> int:
    """A run folder listing every done pixel of ``run_dir`` ``times`` times (links)."""
    from dataclasses import replace

    src = RunFolder(run_dir)
    done = [p for p, s in zip(src.pixels(), src.states().values(), strict=True) if s == "done"]
    pixels = PixelSet(replace(p, pixel_id=f"rep{r}_{p.pixel_id}") for r in range(times)
                      for p in done)
    dst = RunFolder.prepare(target, pixels, src.settings())
    for r in range(times):
        for p in done:
            os.symlink(src.result_path(p.pixel_id).resolve(),
                       dst.result_path(f"rep{r}_{p.pixel_id}"))
    return len(pixels)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--replicate", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="merge-memory-") as tmp:
        tmp = Path(tmp)
        n1 = replicate(args.run_dir, tmp / "one", 1)
        nk = replicate(args.run_dir, tmp / "many", args.replicate)
        for label, folder, n in (("original", tmp / "one", n1), ("replicated", tmp / "many", nk)):
            rss, seconds = merge_peak(folder, tmp / f"{label}.nc")
            size = (tmp / f"{label}.nc").stat().st_size / 2**20
            print(f"{label:<11} {n:6d} pixels: peak RSS {rss:6.0f} MiB, {seconds:7.1f} s "
                  f"({1000 * seconds / n:.1f} ms a pixel), product {size:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
