"""Pixel sets, shards, per-pixel seeds and the run folder's claims and states."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import netCDF4
import numpy as np
import pytest

import drivers
from mdf.batch import ShardError, pixel_seed, resolve_shard, shard_from_environment
from mdf.pixels import PixelSet, PixelSetError, PixelSpec, from_list_file, open_pixels
from mdf.runfolder import RunFolder, RunFolderError
from tests.conftest import shared_path
from tests.drivers.test_gridded import write_cube

SITE76 = drivers.data_path("flux_site_76.cbf")


def test_pixel_seed_is_fixed_by_run_seed_and_pixel_id():
    # literal values: the seed may not depend on the machine, the Python version or hash()
    assert pixel_seed(1, "flux_site_1") == 7462596506860591106
    assert pixel_seed(0, "r0012c0034") == 2475387424713152989
    seeds = {pixel_seed(s, f"flux_site_{n}") for s in (0, 1) for n in range(1, 205)}
    assert len(seeds) == 2 * 204 and max(seeds) < 2**63


@pytest.mark.parametrize("n_shards", [1, 3, 4, 7, 204, 500])
def test_shards_hold_every_pixel_exactly_once(n_shards):
    pixels = PixelSet(PixelSpec(f"p{k}", "/x") for k in range(204))
    seen = [p.pixel_id for s in range(n_shards) for p in pixels.shard(s, n_shards)]
    assert sorted(seen) == sorted(pixels.ids())
    sizes = [len(pixels.shard(s, n_shards)) for s in range(n_shards)]
    assert max(sizes) - min(sizes) <= 1
    with pytest.raises(PixelSetError):
        pixels.shard(n_shards, n_shards)


def test_shard_numbers_from_array_job_environments():
    assert shard_from_environment({}) == (None, None)
    assert shard_from_environment({"SLURM_ARRAY_TASK_ID": "2",
                                   "SLURM_ARRAY_TASK_COUNT": "4"}) == (2, 4)
    # --array=1-100: ids start at 1
    assert shard_from_environment({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1",
                                   "SLURM_ARRAY_TASK_COUNT": "100"}) == (0, 100)
    assert shard_from_environment({"SGE_TASK_ID": "5", "SGE_TASK_FIRST": "1",
                                   "SGE_TASK_LAST": "9", "SGE_TASK_STEPSIZE": "2"}) == (2, 5)
    assert shard_from_environment({"SGE_TASK_ID": "undefined"}) == (None, None)
    assert shard_from_environment({"PBS_ARRAY_INDEX": "3"}) == (3, None)
    assert resolve_shard(None, None, {}) == (0, 1)
    assert resolve_shard(None, 8, {"PBS_ARRAY_INDEX": "3"}) == (3, 8)
    assert resolve_shard(1, 2, {"SLURM_ARRAY_TASK_ID": "0",
                                "SLURM_ARRAY_TASK_COUNT": "4"}) == (1, 2)
    with pytest.raises(ShardError, match="n-shards"):
        resolve_shard(None, None, {"PBS_ARRAY_INDEX": "3"})
    with pytest.raises(ShardError, match="outside"):
        resolve_shard(4, 4, {})


def test_folder_of_driver_files_in_natural_order_with_site_table(tmp_path):
    folder = tmp_path / "cbf"
    folder.mkdir()
    for name in ("site_10.cbf", "site_2.cbf", "site_1.cbf"):
        shutil.copy(SITE76, folder / name)
    (folder / "README.md").write_text("not a driver file\n")
    (tmp_path / "sites.csv").write_text("pixel_id,site,land_cover\nsite_2,FI-Hyy,ENF\n")
    pixels = open_pixels(folder)
    assert pixels.ids() == ["site_1", "site_2", "site_10"]
    assert (pixels[1].site, pixels[1].land_cover) == ("FI-Hyy", "ENF")
    assert pixels[0].site == ""
    # the CSV list reads back to the same set; a plain list of paths too
    pixels.write(tmp_path / "list.csv")
    assert from_list_file(tmp_path / "list.csv").to_csv() == pixels.to_csv()
    (tmp_path / "plain.txt").write_text("# two pixels\ncbf/site_10.cbf\n\ncbf/site_1.cbf\n")
    plain = open_pixels(tmp_path / "plain.txt")
    assert plain.ids() == ["site_10", "site_1"]
    assert plain[0].source == str(folder / "site_10.cbf")
    ds = plain[0].read(require=["tmin"])
    assert ds.attrs["pixel_id"] == "site_10"


def test_bad_pixel_lists_are_refused(tmp_path):
    with pytest.raises(PixelSetError, match="twice"):
        PixelSet([PixelSpec("a", "/x"), PixelSpec("a", "/y")])
    with pytest.raises(PixelSetError, match="file-safe"):
        PixelSet([PixelSpec("../a", "/x")])
    (tmp_path / "bad.csv").write_text("pixel_id,source,colour\na,x,red\n")
    with pytest.raises(PixelSetError, match="unknown column"):
        open_pixels(tmp_path / "bad.csv")
    (tmp_path / "missing.txt").write_text("nowhere.cbf\n")
    with pytest.raises(PixelSetError, match="does not exist"):
        open_pixels(tmp_path / "missing.txt")


def test_gridded_input_and_land_mask(tmp_path, rng):
    ocean = np.zeros((4, 5), dtype=bool)
    ocean[0, :2] = True
    met = tmp_path / "met.nc"
    write_cube(met, 4, 5, 24, rng, ocean=ocean)
    pixels = open_pixels(met)
    assert len(pixels) == 18 and pixels.grid is not None
    assert pixels[0].pixel_id == "r0000c0002" and (pixels[0].lat_index, pixels[0].lon_index) \
        == (0, 2)
    grid = drivers.open_grid(met)
    expected = grid.pixel(5)
    got = pixels[5].read()
    np.testing.assert_array_equal(got["tmin"].values, expected["tmin"].values)
    assert got.attrs["pixel_id"] == pixels[5].pixel_id
    mask = tmp_path / "mask.nc"
    with netCDF4.Dataset(mask, "w") as nc:
        nc.createDimension("lat", 4)
        nc.createDimension("lon", 5)
        v = nc.createVariable("land_mask", "i1", ("lat", "lon"))
        values = np.ones((4, 5), dtype=np.int8)
        values[3] = 0
        v[:] = values
    masked = open_pixels(met, land_mask=mask)
    assert len(masked) == 13 and all(p.lat_index < 3 for p in masked)
    # the ids are the cells', so a masked list keeps every pixel's id (and seed)
    assert set(masked.ids()) <= set(pixels.ids())
    masked.write(tmp_path / "list.csv")
    again = open_pixels(tmp_path / "list.csv")
    assert again.grid == masked.grid and again.ids() == masked.ids()
    (tmp_path / "keys.txt").write_text("met.nc::3\nmet.nc::31.25,-8.25\n")
    keyed = open_pixels(tmp_path / "keys.txt")
    assert keyed.ids() == [pixels[3].pixel_id, "r0002c0004"]


def test_fluxval_folder_gives_204_named_sites():
    pixels = open_pixels(shared_path("data", "fluxval", "cbf"))
    assert len(pixels) == 204
    assert pixels.ids()[:3] == ["flux_site_1", "flux_site_2", "flux_site_3"]
    assert (pixels[0].site, pixels[0].land_cover) == ("AR-SLu", "MF")
    assert pixels.index("flux_site_76") == 75 and pixels[75].site == "FI-Hyy"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_run_folder_claims_states_and_settings(tmp_path):
    pixels = PixelSet(PixelSpec(f"p{k}", "/x") for k in range(5))
    folder = RunFolder.prepare(tmp_path / "run", pixels, {"model": "400", "seed": 1})
    assert folder.counts()["pending"] == 5
    assert folder.claim("p0")
    assert not folder.claim("p0")  # this process holds it: live
    folder.result_path("p1").write_text("done")
    folder.mark_failed("p2", "RuntimeError: no start\n")
    folder.checkpoint_path("p3").write_bytes(b"")
    # a claim left by a process that no longer exists: interrupted, and taken over
    folder.claim_path("p4").write_text(json.dumps({"host": __import__("socket").gethostname(),
                                                   "pid": _dead_pid()}))
    states = folder.states()
    assert states == {"p0": "running", "p1": "done", "p2": "failed", "p3": "interrupted",
                      "p4": "interrupted"}
    assert folder.claim("p4")
    assert folder.states()["p4"] == "running"
    folder.release("p4")
    assert folder.states(stale_after=0.0)["p0"] == "interrupted"  # no heartbeat in time
    with pytest.raises(RunFolderError, match="settings"):
        RunFolder.prepare(tmp_path / "run", pixels, {"model": "400", "seed": 2})
    with pytest.raises(RunFolderError, match="pixel list"):
        RunFolder.prepare(tmp_path / "run", pixels[:4], {"model": "400", "seed": 1})
    assert folder.leftovers() == []
