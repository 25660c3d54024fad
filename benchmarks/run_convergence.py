"""Why did a run's pixels not converge? Drift, lockstep and still-rising log P, per run folder.

Reads the result files of a run folder (``dalec-mdf calibrate --pixels ... --out-dir RUN``)
and prints, for the pixels that converged and those that did not (the results' ``converged``:
R-hat and bulk ESS targets met):

- CPU: the mean CPU seconds per pixel, from the run's log if given (``--log``; pixels
  calibrated from scratch, not resumed);
- drift: for each parameter (log scale), how far the median of the later half of the pooled
  kept draws lies from that of the earlier half, in units of the pooled standard deviation;
  the largest over parameters, median over pixels;
- spread: the standard deviation of the four chains' medians in the same units (largest over
  parameters, median over pixels). Drift well above spread means the chains moved *together*
  (they share the DE-MCz archive), so their agreement says little;
- rise: the median log-posterior of the last eighth of the kept draws minus that of the
  first eighth; a rise of several units means the chains were still climbing when draws
  began to be kept (a burn-in too short for that pixel).

Usage::

    PYTHONPATH=. python benchmarks/run_convergence.py /work/runs/fluxval400 \
        --log /work/runs/fluxval400.log
"""

from __future__ import annotations

import argparse
import re
import warnings

import numpy as np
import xarray as xr

from mdf.runfolder import RunFolder

DONE = re.compile(r"pixel (\S+): done in [0-9.]+ s \(([0-9.]+) s CPU\)(?! \(resumed\))")


def pixel_figures(path) -> dict:
    """Convergence flag, drift, spread and log P rise of one result file."""
    with xr.open_dataset(path) as root:
        converged = bool(root.attrs.get("converged"))
    with xr.open_dataset(path, group="posterior") as post:
        post = post.load()
    with xr.open_dataset(path, group="sample_stats") as stats:
        lp = stats["lp"].values
    drift, spread = [], []
    for name in post.data_vars:
        x = post[name].values
        if x.ndim != 2 or not np.all(x > 0):
            continue
        x = np.log(x)
        sd = x.std()
        if sd == 0:
            continue
        half = x.shape[1] // 2
        drift.append(abs(np.median(x[:, :half]) - np.median(x[:, half:])) / sd)
        spread.append(np.std(np.median(x, axis=1)) / sd)
    eighth = lp.shape[1] // 8
    rise = float(np.median(lp[:, -eighth:]) - np.median(lp[:, :eighth]))
    return {"converged": converged, "drift": max(drift), "spread": max(spread), "rise": rise}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--log", help="the run's log, for CPU seconds per pixel")
    args = parser.parse_args(argv)
    folder = RunFolder(args.run_dir)
    states = folder.states()
    done = [p for p, s in states.items() if s == "done"]
    cpu = {}
    if args.log:
        with open(args.log) as fh:
            for line in fh:
                m = DONE.search(line)
                if m:
                    cpu[m.group(1)] = float(m.group(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = {p: pixel_figures(folder.result_path(p)) for p in done}
    print(f"{folder.path}: {len(done)} pixels done")
    print(f"{'':<15}{'pixels':>7}{'CPU s':>8}{'drift':>7}{'spread':>7}{'rise':>7}"
          f"{'rise>2':>7}{'rise>5':>7}")
    for label, flag in (("converged", True), ("not converged", False)):
        sel = [p for p in done if rows[p]["converged"] == flag]
        if not sel:
            continue
        times = [cpu[p] for p in sel if p in cpu]
        rise = np.array([rows[p]["rise"] for p in sel])
        print(f"{label:<15}{len(sel):>7}"
              f"{(f'{np.mean(times):.0f}' if times else '-'):>8}"
              f"{np.median([rows[p]['drift'] for p in sel]):>7.2f}"
              f"{np.median([rows[p]['spread'] for p in sel]):>7.2f}"
              f"{np.median(rise):>7.1f}{int((rise > 2).sum()):>7}{int((rise > 5).sum()):>7}")
    print("drift, spread: medians over pixels of the largest over parameters [pooled sd]; "
          "rise: median over pixels [log P]; rise>2, rise>5: pixels")


if __name__ == "__main__":
    main()
