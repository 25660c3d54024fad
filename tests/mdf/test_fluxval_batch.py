"""The 204 CARDAMOM-FluxVal sites end to end through the array-job path (CI-sized chains).

One module-scoped run does the heavy work once:

1. ``dalec-mdf calibrate --pixels LIST --out-dir A`` as 4 separate processes one after the
   other with ``SLURM_ARRAY_TASK_ID``/``SLURM_ARRAY_TASK_COUNT`` set, each on a 2-worker process
   pool; shard 1 is killed with SIGKILL (its whole process group) while a pixel is between
   checkpoints; then all 4 shards run again;
2. the same list through ``mdf.calibrate_many`` serially in this process into folder S;
3. 8 of the sites through ``calibrate_many`` on a 2-worker ``dask.distributed.LocalCluster``.

Chains are CI-sized and the EDCs are off (chains=2, burn-in 1000, 500 iterations): with EDCs
the start search alone costs 2-20 s per site on one core (measured: 8 s mean over 12 sites for
DALEC 400), ~30 min for the two passes here. The plumbing under test does not depend on it.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import mdf
from mdf.merge import merge
from mdf.pixels import PixelSet, PixelSpec, open_pixels
from mdf.runfolder import RunFolder
from tests.conftest import shared_path

pytestmark = [pytest.mark.slow, pytest.mark.shared,
              pytest.mark.filterwarnings("ignore::mdf.ConvergenceWarning")]

ROOT = Path(__file__).resolve().parents[2]
MODEL = "811"
SEED = 2026
OPTIONS = dict(chains=2, burn_in=1000, iterations=500, thin=50, draws=20, block=250,
               warm_start=False, edc=False)
CLI_OPTIONS = ["--model", MODEL, "--seed", str(SEED), "--chains", "2", "--burn-in", "1000",
               "--iterations", "500", "--thin", "50", "--draws", "20", "--block", "250",
               "--no-warm-start", "--no-edc", "--workers", "2", "--checkpoint-every", "0"]
N_SHARDS = 4
KILLED_SHARD = 1
DONE = re.compile(r"pixel (\S+): done in")


def _shard(listing, out_dir, shard, kill_after=None):
    """Run one array task; with ``kill_after``, SIGKILL it mid-pixel after that many pixels."""
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(shard),
           "SLURM_ARRAY_TASK_COUNT": str(N_SHARDS), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mdf.cli", "calibrate", "--pixels", str(listing), "--out-dir",
         str(out_dir), *CLI_OPTIONS],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
        start_new_session=True,
    )
    lines, done, killed_at = [], set(), None
    for line in proc.stdout:
        lines.append(line)
        m = DONE.search(line)
        if m:
            done.add(m.group(1))
        hit = re.search(r"INFO (\S+) sampling 250/500", line)
        if kill_after is not None and len(done) >= kill_after and hit and hit.group(1) not in done:
            killed_at = hit.group(1)  # its burn-in checkpoint is on disk: it resumes from there
            os.killpg(proc.pid, signal.SIGKILL)
            # lines written before the kill (a pixel that finished meanwhile) are still in
            # the pipe: without them its result exists but its "done" line is missed
            lines += proc.stdout.read().splitlines(keepends=True)
            break
    proc.stdout.close()
    proc.wait()
    return proc.returncode, lines, killed_at


#: a fresh process merges and prints its peak RSS (VmHWM: ru_maxrss would include the RSS
#: the process inherited from this one at fork) and the merge's seconds
MERGE_RSS = """
import re, sys, time
from mdf.merge import merge
t = time.perf_counter()
merge(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(hwm, seconds)
"""


def _merge_peak_rss_mib(run_dir, out) -> tuple[float, float]:
    """Merge in a fresh process; (peak RSS [MiB], seconds)."""
    code = MERGE_RSS
    out_text = subprocess.run([sys.executable, "-c", code, str(run_dir), str(out)], check=True,
                              capture_output=True, text=True, cwd=ROOT).stdout.split()
    return float(out_text[0]) / 1024, float(out_text[1])


@pytest.fixture(scope="module")
def fluxval(tmp_path_factory):
    cbf = shared_path("data", "fluxval", "cbf")
    root = tmp_path_factory.mktemp("fluxval")
    listing = root / "pixels.csv"
    pixels = open_pixels(cbf)
    pixels.write(listing)
    timings = {}

    # 1. the array job: 4 shards one after the other, shard 1 killed, then all 4 again
    t = time.perf_counter()
    logs, first = [], {}
    for shard in range(N_SHARDS):
        code, lines, killed_at = _shard(listing, root / "A", shard,
                                        kill_after=15 if shard == KILLED_SHARD else None)
        logs += lines
        first[shard] = (code, killed_at)
    after_kill = RunFolder(root / "A").states()
    partial = [p for p in (root / "A" / "results").iterdir() if not p.name.endswith(".nc")]
    for shard in range(N_SHARDS):
        code, lines, _ = _shard(listing, root / "A", shard)
        logs += lines
        assert code == 0, "".join(lines[-20:])
    timings["array job (8 task runs, 2 workers each)"] = time.perf_counter() - t
    t = time.perf_counter()
    merge(root / "A", root / "A.nc")
    timings["merge of 204"] = time.perf_counter() - t

    # 2. the same pixels one after the other in this process, on one thread
    t = time.perf_counter()
    serial = mdf.calibrate_many(pixels, root / "S", MODEL, seed=SEED, threads=1, **OPTIONS)
    timings["serial calibrate_many"] = time.perf_counter() - t
    merge(root / "S", root / "S.nc")

    yield dict(root=root, pixels=pixels, logs=logs, first=first, after_kill=after_kill,
               partial=partial, serial=serial, timings=timings)
    print("\nFluxVal batch timings [s]: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    shutil.rmtree(root, ignore_errors=True)


def test_killed_shard_left_interrupted_pixels_and_no_partial_result(fluxval):
    code, killed_at = fluxval["first"][KILLED_SHARD]
    assert code == -signal.SIGKILL and killed_at is not None
    # the workers' pixels at the kill (claimed, most with a checkpoint) are interrupted
    interrupted = [p for p, s in fluxval["after_kill"].items() if s == "interrupted"]
    assert 1 <= len(interrupted) <= 2
    assert not [p for p, s in fluxval["after_kill"].items() if s in ("running", "failed")]
    # whatever the killed writers left is a dot-temporary, never a file under a result's name
    assert all(p.name.startswith(".") for p in fluxval["partial"])
    for shard, (code, _) in fluxval["first"].items():
        assert shard == KILLED_SHARD or code == 0
    # every pixel with a checkpoint at the kill resumed it (once) when the shard ran again
    resumed = collections.Counter(m.group(1) for line in fluxval["logs"]
                                  for m in [re.search(r"pixel (\S+): resuming", line)] if m)
    assert set(resumed) <= set(interrupted) and set(resumed.values()) <= {1}
    assert resumed, "no interrupted pixel had a checkpoint to resume"


def test_every_pixel_calibrated_exactly_once_and_the_folder_is_clean(fluxval):
    folder = RunFolder(fluxval["root"] / "A")
    assert folder.counts()["done"] == 204
    done = collections.Counter(m.group(1) for line in fluxval["logs"]
                               for m in [DONE.search(line)] if m)
    assert set(done.values()) == {1}
    # a pixel a worker finished in the instant of the kill has its result in place but its
    # "done" line never reached the log (SIGKILL between the rename and the line); the second
    # pass found the result and did not calibrate it again (no line there either)
    raced = set(fluxval["pixels"].ids()) - set(done)
    assert len(raced) <= 2
    assert all(fluxval["after_kill"][p] == "done" for p in raced)
    assert folder.leftovers() == []
    for sub in ("checkpoints", "running", "failed"):
        assert not list((folder.path / sub).iterdir()), sub
    assert len(list((folder.path / "results").iterdir())) == 204


def test_array_job_product_equals_the_serial_run_bitwise(fluxval):
    root = fluxval["root"]
    assert [o.status for o in fluxval["serial"]] == ["done"] * 204
    with xr.open_dataset(root / "A.nc", decode_cf=False) as a, \
            xr.open_dataset(root / "S.nc", decode_cf=False) as s:
        assert a.identical(s)
        assert a.sizes["site"] == 204 and int(a.attrs["n_done"]) == 204
        assert np.isfinite(a["p_sink"].values).all()
    assert (root / "A.nc").read_bytes() == (root / "S.nc").read_bytes()


def test_dask_local_cluster_gives_the_same_results(fluxval):
    pytest.importorskip("distributed")
    from mdf.executors import dask_executor

    root, pixels = fluxval["root"], fluxval["pixels"]
    subset = pixels.select(pixels.ids()[::26])  # 8 sites across the list
    with dask_executor(workers=2, threads=1) as executor:
        out = mdf.calibrate_many(subset, root / "D", MODEL, seed=SEED, executor=executor,
                                 **OPTIONS)
    assert [o.status for o in out] == ["done"] * len(subset)
    for spec in subset:
        for group in ("posterior", "sample_stats", "posterior_predictive", "summary"):
            with xr.open_dataset(root / "D" / "results" / f"{spec.pixel_id}.nc", group=group,
                                 decode_cf=False) as d, \
                    xr.open_dataset(root / "S" / "results" / f"{spec.pixel_id}.nc",
                                    group=group, decode_cf=False) as s:
                assert d.identical(s), (spec.pixel_id, group)


def test_merge_memory_stays_flat_from_204_to_2040_pixels(fluxval):
    root = fluxval["root"]
    folder = RunFolder(root / "S")
    pixels = fluxval["pixels"]
    replicated = PixelSet(PixelSpec(f"rep{r}_{p.pixel_id}", p.source, site=f"rep{r}_{p.site}",
                                    land_cover=p.land_cover, latitude=p.latitude,
                                    longitude=p.longitude)
                          for r in range(10) for p in pixels)
    many = RunFolder.prepare(root / "R", replicated, folder.settings())
    for r in range(10):
        for p in pixels:
            os.symlink(folder.result_path(p.pixel_id), many.result_path(f"rep{r}_{p.pixel_id}"))
    rss_204, s_204 = _merge_peak_rss_mib(root / "S", root / "m204.nc")
    rss_2040, s_2040 = _merge_peak_rss_mib(root / "R", root / "m2040.nc")
    print(f"\nmerge peak RSS: 204 pixels {rss_204:.0f} MiB ({s_204:.0f} s), 2040 pixels "
          f"{rss_2040:.0f} MiB ({s_2040:.0f} s)")
    assert rss_2040 < rss_204 * 1.15 + 16
    with xr.open_dataset(root / "m2040.nc") as ds:
        assert ds.sizes["site"] == 2040 and int(ds.attrs["n_done"]) == 2040
