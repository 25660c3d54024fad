"""calibrate_many, merge and validate on a few small pixels (CI-sized chains)."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import drivers
import mdf
from mdf.cli import main
from mdf.merge import CLASS_FLAGS, STATUS_FLAGS, merge
from mdf.pixels import open_pixels
from mdf.runfolder import RunFolder
from mdf.validate_run import SCORES, summarise, validate_run
from tests.drivers.test_gridded import write_cube

pytestmark = [pytest.mark.filterwarnings("ignore::mdf.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore:model 400 cannot simulate")]
DATA = Path(__file__).resolve().parents[1] / "data"
SITE76 = drivers.data_path("flux_site_76.cbf")
#: CI-sized chains: the plumbing is under test here, not convergence
TINY = dict(chains=2, burn_in=1000, iterations=500, thin=50, draws=20, block=250,
            warm_start=False, edc=False)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """Three copies of FI-Hyy under other names (other ids, so other seeds) + a site table."""
    root = tmp_path_factory.mktemp("sites")
    folder = root / "cbf"
    folder.mkdir()
    for n in (1, 2, 3):
        shutil.copy(SITE76, folder / f"hyy_{n}.cbf")
    (root / "sites.csv").write_text("pixel_id,site,land_cover\nhyy_1,FI-Hyy,ENF\n"
                                    "hyy_2,hyy_2,ENF\nhyy_3,hyy_3,MF\n")
    return open_pixels(folder)


@pytest.fixture(scope="module")
def run(sites, tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run"
    outcomes = mdf.calibrate_many(sites, path, "400", seed=3, threads=1, **TINY)
    return path, outcomes


def test_every_pixel_done_once_and_a_rerun_skips_them(run, sites):
    path, outcomes = run
    assert [o.status for o in outcomes] == ["done"] * 3
    folder = RunFolder(path)
    assert folder.counts()["done"] == 3
    assert folder.leftovers() == []
    assert not list((path / "checkpoints").iterdir()) and not list((path / "running").iterdir())
    again = mdf.calibrate_many(sites, path, "400", seed=3, threads=1, **TINY)
    assert [o.status for o in again] == ["skipped"] * 3
    assert [o.max_threads for o in outcomes] == [1] * 3
    assert [o.max_threads for o in again] == [0] * 3
    # a pixel's chains are those of mdf.calibrate with its own seed
    pixel = sites[1].read()
    single = mdf.calibrate(pixel, "400", seed=mdf.pixel_seed(3, "hyy_2"), threads=2, **TINY)
    with xr.open_dataset(folder.result_path("hyy_2"), group="posterior") as post:
        np.testing.assert_array_equal(post["theta"].values, single.parameters[:, :, 9])


def test_pool_lends_idle_cores_to_the_running_pixel_with_the_same_chains(run, sites, tmp_path):
    from mdf.executors import process_pool

    serial, _ = run
    # one pixel on a 2-worker pool: the idle worker's core goes to it; without lending it
    # keeps its one thread
    got = {}
    for lend in (True, False):
        with process_pool(2, threads=1, lend_idle=lend) as ex:
            out = mdf.calibrate_many(sites, tmp_path / str(lend), "400", seed=3, executor=ex,
                                     select=["hyy_2"], **TINY)
        got[lend] = out[0]
        with xr.open_dataset(RunFolder(tmp_path / str(lend)).result_path("hyy_2"),
                             group="posterior") as post, \
                xr.open_dataset(RunFolder(serial).result_path("hyy_2"),
                                group="posterior") as ref:
            assert post.identical(ref)
    assert got[True].status == got[False].status == "done"
    assert (got[True].max_threads, got[False].max_threads) == (2, 1)


def test_select_calibrates_only_those_pixels_of_the_run(tmp_path, sites, caplog):
    from mdf.cli_batch import _ids

    ids = tmp_path / "ids.txt"
    ids.write_text("# first\nhyy_3\n\n")
    assert _ids(f"@{ids}") == ["hyy_3"] and _ids("hyy_1, hyy_3") == ["hyy_1", "hyy_3"]
    with caplog.at_level(logging.INFO, logger="mdf.batch"):
        out = mdf.calibrate_many(sites, tmp_path / "run", "400", seed=3, threads=1,
                                 select=_ids(f"@{ids}"), **TINY)
    assert [(o.pixel_id, o.status) for o in out] == [("hyy_3", "done")]
    # the pixel's log line says that its short chains missed the convergence targets
    assert re.search(r"pixel hyy_3: done in .*NOT converged: max R-hat", caplog.text)
    assert RunFolder(tmp_path / "run").states() == {"hyy_1": "pending", "hyy_2": "pending",
                                                    "hyy_3": "done"}
    with pytest.raises(ValueError, match="not in the pixel list.*hyy_9"):
        mdf.calibrate_many(sites, tmp_path / "run", "400", seed=3, select=["hyy_9"], **TINY)


def test_checkpoints_are_written_at_most_every_checkpoint_every_seconds(tmp_path, monkeypatch):
    from mdf.calibration import Run

    written = []
    save = Run.save
    monkeypatch.setattr(Run, "save", lambda self, path: (written.append(self.done_sample),
                                                         save(self, path)))
    pixel = drivers.read(SITE76)
    blocks = []
    kept = mdf.calibrate(pixel, "400", seed=1, threads=1, checkpoint=tmp_path / "a.npz",
                         checkpoint_every=0, progress=lambda *a: blocks.append(a[:2]), **TINY)
    assert len(blocks) >= 3
    assert len(written) == 1 + len(blocks)  # after the start, then after every block
    written.clear()
    rare = mdf.calibrate(pixel, "400", seed=1, threads=1, checkpoint=tmp_path / "b.npz",
                         checkpoint_every=3600, **TINY)
    assert written == [0]  # after the start only
    np.testing.assert_array_equal(rare.parameters, kept.parameters)


def test_failed_pixel_is_recorded_and_retried_on_request(tmp_path, sites):
    bad = tmp_path / "broken.cbf"
    bad.write_bytes(SITE76.read_bytes()[:5000])
    listing = tmp_path / "list.txt"
    listing.write_text(f"{sites[0].source}\n{bad}\n")
    pixels = open_pixels(listing)
    out = mdf.calibrate_many(pixels, tmp_path / "run", "400", seed=3, threads=1, **TINY)
    assert [o.status for o in out] == ["done", "failed"]
    folder = RunFolder(tmp_path / "run")
    assert folder.states() == {"hyy_1": "done", "broken": "failed"}
    assert "broken.cbf" in folder.failure_path("broken").read_text()
    assert [o.status for o in mdf.calibrate_many(pixels, tmp_path / "run", "400", seed=3,
                                                 threads=1, **TINY)] == ["skipped", "not_retried"]
    again = mdf.calibrate_many(pixels, tmp_path / "run", "400", seed=3, threads=1,
                               retry_failed=True, **TINY)
    assert again[1].status == "failed"
    with pytest.raises(TypeError, match="unknown option"):
        mdf.calibrate_many(pixels, tmp_path / "run", "400", seed=3, colour="red")


def test_merged_sites_product_is_the_quantiles_of_each_result(run, tmp_path):
    path, _ = run
    product = tmp_path / "product.nc"
    summary = merge(path, product)
    assert summary["done"] == 3 and summary["n_pixels"] == 3
    with xr.open_dataset(product) as ds:
        ds = ds.load()
    assert ds.attrs["Conventions"] == "CF-1.12" and ds.attrs["featureType"] == "timeSeries"
    assert ds["nee"].dims == ("quantile", "time", "site")
    assert ds["c_wood"].dims == ("quantile", "state_time", "site")
    assert ds["nee"].attrs["units"] == "g m-2 d-1" and "source" in ds["nee"].attrs["comment"]
    assert ds["sink_source_class"].attrs["flag_meanings"] == "sink neutral source"
    assert list(ds["site_id"].values) == ["hyy_1", "hyy_2", "hyy_3"]
    assert list(ds["land_cover"].values) == ["ENF", "ENF", "MF"]
    for k, pid in enumerate(ds["site_id"].values):
        with xr.open_datatree(RunFolder(path).result_path(pid)) as tree:
            tree = tree.load()
        summ = tree["summary"].to_dataset()
        np.testing.assert_allclose(ds["nee"].isel(site=k).values,
                                   summ["nee_quantiles"].values.astype(np.float32), rtol=1e-6)
        theta = tree["posterior"]["theta"].values.ravel()
        assert ds["par_theta"].isel(site=k).sel(quantile=0.5) == pytest.approx(
            np.median(theta), rel=1e-6)
        assert ds["par_theta"].attrs["units"] == tree["posterior"]["theta"].attrs["units"]
        assert float(ds["p_sink"][k]) == pytest.approx(float(summ["p_sink"]))
        assert int(ds["sink_source_class"][k]) == CLASS_FLAGS[str(summ["sink_source_class"].values)]
        rhat = tree["diagnostics"]["rhat"].values
        np.testing.assert_allclose(ds["rhat"].isel(site=k).values, rhat.astype(np.float32))
        assert float(ds["max_rhat"][k]) == pytest.approx(np.nanmax(rhat), rel=1e-6)
    assert (ds["calibration_status"].values == STATUS_FLAGS["done"]).all()
    known = np.isin(ds["sink_source_class"].values, [0, 2]).mean()
    assert ds.attrs["fraction_sign_known"] == pytest.approx(known)
    merge(path, tmp_path / "again.nc")
    assert (tmp_path / "again.nc").read_bytes() == product.read_bytes()


def test_merge_counts_the_converged_pixels_and_their_known_signs(run, tmp_path):
    import netCDF4

    path, _ = run
    assert merge(path, tmp_path / "none.nc")["converged"] == 0  # TINY chains converge nowhere
    with xr.open_dataset(tmp_path / "none.nc") as ds:
        assert ds.attrs["n_converged"] == 0 and np.isnan(ds.attrs["fraction_sign_known_converged"])
    copy = tmp_path / "run"
    shutil.copytree(path, copy)
    result = RunFolder(copy).result_path("hyy_2")
    with netCDF4.Dataset(result, "a") as nc:
        nc.setncattr("converged", np.int64(1))
        known = nc["summary"]["sink_source_class"][0] != "neutral"
    summary = merge(copy, tmp_path / "one.nc")
    assert summary["converged"] == 1 and summary["fraction_sign_known_converged"] == float(known)
    with xr.open_dataset(tmp_path / "one.nc") as ds:
        assert ds.attrs["n_converged"] == 1 and list(ds["converged"].values) == [0, 1, 0]


def test_grid_product_puts_each_pixel_in_its_cell(tmp_path, rng):
    ocean = np.zeros((3, 4), dtype=bool)
    ocean[0, :2] = True
    met = tmp_path / "met.nc"
    write_cube(met, 3, 4, 24, rng, ocean=ocean)
    pixels = open_pixels(met)
    # the run is over all 10 land pixels; only shard 0 of 4 (3 pixels) is calibrated
    mdf.calibrate_many(pixels, tmp_path / "run", "400", seed=1, threads=1, shard=0, n_shards=4,
                       **TINY)
    done = {p.pixel_id for p in pixels.shard(0, 4)}
    product = tmp_path / "grid.nc"
    summary = merge(tmp_path / "run", product)
    assert summary["done"] == len(done) and summary["not_done"] == 10 - len(done)
    with xr.open_dataset(product) as ds:
        ds = ds.load()
    assert ds["gpp"].dims == ("quantile", "time", "lat", "lon")
    assert ds["lat"].attrs["units"] == "degrees_north" and ds["gpp"].attrs["grid_mapping"] == "crs"
    status = ds["calibration_status"].values
    for p in pixels:
        cell = (p.lat_index, p.lon_index)
        if p.pixel_id in done:
            assert status[cell] == STATUS_FLAGS["done"]
            assert np.isfinite(ds["p_sink"].values[cell])
        else:
            assert status[cell] == STATUS_FLAGS["not_done"]
            assert np.isnan(ds["gpp"].values[(slice(None), slice(None), *cell)]).all()
    assert np.isnan(status[0, 0]) and np.isnan(ds["p_sink"].values[0, 0])  # ocean


def test_validate_scores_the_withheld_months(tmp_path):
    folder = tmp_path / "cbf"
    folder.mkdir()
    shutil.copy(SITE76, folder / "flux_site_76.cbf")
    table = tmp_path / "sites.csv"
    table.write_text("pixel_id,site,land_cover\nflux_site_76,FI-Hyy,ENF\n")
    withheld = tmp_path / "withheld"
    withheld.mkdir()
    shutil.copy(DATA / "validation_FI-Hyy.csv", withheld)
    pixels = open_pixels(folder, sites=table)
    mdf.calibrate_many(pixels, tmp_path / "run", "811", seed=2, threads=2, **TINY)
    rows, summary = validate_run(tmp_path / "run", withheld)
    assert {r["variable"] for r in rows} == {"gpp", "nee", "et"}
    for r in rows:
        assert r["site"] == "FI-Hyy" and r["land_cover"] == "ENF" and r["n"] > 50
        assert 0 <= r["model_coverage90"] <= 1 and np.isfinite(r["baseline_nse"])
        assert r["converged"] == 0.0  # 500 iterations of 2 chains: far from the targets
    assert [(s["group"], s["variable"]) for s in summary][:3] == [("all", "gpp"), ("all", "nee"),
                                                                 ("all", "et")]
    assert "converged" not in {s["group"] for s in summary}  # no site converged
    assert all(s["converged"] == 0.0 for s in summary)
    assert (tmp_path / "run" / "validation_sites.csv").read_text().count("\n") == 4


def test_validate_summary_of_the_converged_sites():
    def row(site, land_cover, nse, converged):
        r = {c: 0.5 for c in SCORES}
        r.update(pixel_id=site, site=site, land_cover=land_cover, variable="gpp", n=12,
                 model_nse=nse, baseline_nse=0.5, converged=converged)
        return r

    rows = [row("a", "ENF", 0.9, 1.0), row("b", "ENF", 0.1, 0.0), row("c", "GRA", 0.7, 1.0),
            row("d", "GRA", 0.6, np.nan)]
    groups = {s["group"]: s for s in summarise(rows)}
    assert list(groups) == ["all", "converged", "ENF", "GRA"]
    assert groups["all"]["sites"] == 4 and groups["all"]["converged"] == 2 / 3  # d: unknown
    assert groups["converged"]["sites"] == 2
    assert groups["converged"]["model_nse"] == 0.8  # median of a and c
    assert groups["converged"]["beats_baseline"] == 1.0 and groups["all"]["beats_baseline"] == 0.75
    assert groups["ENF"]["converged"] == 0.5 and groups["GRA"]["converged"] == 1.0


def test_cli_many_pixel_form_status_merge_validate(tmp_path, sites, capsys, monkeypatch):
    listing = tmp_path / "pixels.csv"
    assert main(["pixels", str(Path(sites[0].source).parent), "--out", str(listing)]) == 0
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "1")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "2")
    args = ["calibrate", "--pixels", str(listing), "--out-dir", str(tmp_path / "run"),
            "--model", "400", "--chains", "2", "--burn-in", "1000", "--iterations", "500",
            "--thin", "50", "--draws", "20", "--block", "250", "--no-warm-start", "--no-edc",
            "--seed", "3", "--workers", "1"]
    assert main(args) == 0
    assert RunFolder(tmp_path / "run").states() == {"hyy_1": "pending", "hyy_2": "done",
                                                    "hyy_3": "pending"}
    # the same settings from Python make the same run: it takes the CLI's folder over
    out = mdf.calibrate_many(sites, tmp_path / "run", "400", seed=3, threads=1, shard=0,
                             n_shards=2, **TINY)
    assert [o.status for o in out] == ["done", "done"]
    capsys.readouterr()
    assert main(["status", str(tmp_path / "run"), "--list", "done"]) == 0
    out = capsys.readouterr().out
    assert "3 done" in out and "0 pending" in out and "done        hyy_3" in out
    assert main(["merge", str(tmp_path / "run"), "--out", str(tmp_path / "p.nc"),
                 "--figure", str(tmp_path / "p.png")]) == 0
    assert "3 of 3 pixels" in capsys.readouterr().out and (tmp_path / "p.png").stat().st_size
    withheld = tmp_path / "withheld"
    withheld.mkdir()
    shutil.copy(DATA / "validation_FI-Hyy.csv", withheld)
    assert main(["validate", str(tmp_path / "run"), "--withheld", str(withheld)]) == 0
    out = capsys.readouterr().out
    assert "FI-Hyy" in out and "all       gpp" in out and "ENF       nee" in out
    with pytest.raises(SystemExit, match="not both|--out-dir"):
        main(["calibrate", "--pixels", str(listing), "--out", "x.nc"])
    # the one-pixel form still works, with the new run options; with fewer than six burn-in
    # windows to compare, --max-burn-in runs burn-in to its cap
    assert main(["calibrate", sites[0].source, "--model", "400", "--out",
                 str(tmp_path / "one.nc"), "--chains", "2", "--burn-in", "1000", "--iterations",
                 "500", "--thin", "50", "--draws", "20", "--no-warm-start", "--no-edc",
                 "--threads", "1", "--max-burn-in", "3000"]) == 0
    with xr.open_dataset(tmp_path / "one.nc", group="posterior") as post:
        assert post.sizes["draw"] == 10
    with xr.open_dataset(tmp_path / "one.nc") as root:
        assert root.attrs["burn_in_iterations"] == 3000
        assert root.attrs["setting_max_burn_in"] == 3000


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_pool_workers_end_when_the_parent_is_killed(tmp_path, sites):
    import signal
    import subprocess
    import sys
    import time

    listing = tmp_path / "pixels.csv"
    sites.write(listing)
    args = [sys.executable, "-m", "mdf.cli", "calibrate", "--pixels", str(listing), "--out-dir",
            str(tmp_path / "run"), "--model", "400", "--chains", "2", "--burn-in", "1000",
            "--iterations", "1000000", "--block", "250", "--no-warm-start", "--no-edc",
            "--seed", "3", "--workers", "2"]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=root, start_new_session=True)
    try:
        for line in proc.stdout:
            if re.search(r"INFO hyy_\d sampling", line):
                break  # a worker is in the middle of a pixel
        workers = [c for c in _children(proc.pid)
                   if "multiprocessing" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(workers) >= 2
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone, not its process group
        proc.wait()
        deadline = time.monotonic() + 20
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers)
    finally:
        try:  # whatever is left of the process group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stdout.close()
    states = RunFolder(tmp_path / "run").states()
    assert "running" not in states.values() and "interrupted" in states.values()
