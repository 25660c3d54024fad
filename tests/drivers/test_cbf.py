"""JPL binary CBF and CBR files: every FluxVal file reads, values match the raw bytes, round
trips are byte-identical, and header settings decode into options, constraints and priors."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers import DriverError
from drivers.options import constraints, get_obs_options, parameter_priors, set_obs_options
from tests.conftest import shared_path

SITE_76 = drivers.data_path("flux_site_76.cbf")


def raw(path) -> np.ndarray:
    """The file as float64 values, read independently of the package."""
    return np.frombuffer(open(path, "rb").read(), dtype="<f8")


def table(path) -> np.ndarray:
    v = raw(path)
    n, nomet, noobs = int(v[2]), int(v[3]), int(v[4])
    return v[300 : 300 + n * (nomet + noobs)].reshape(n, nomet + noobs)


def test_site_76_is_fi_hyy_spot_values():
    ds = drivers.read(SITE_76)
    t = table(SITE_76)
    # FluxVal site 76 is FI-Hyy: the cell centre holding the tower at 61.8474 N, 24.2948 E
    assert float(ds["latitude"]) == 61.75
    assert abs(float(ds["latitude"]) - 61.8474) <= 0.25
    assert ds.sizes["time"] == 192 == t.shape[0]
    assert int(np.sum(t[:, 9] > -9998)) == 75  # GPP months, counted from the raw column
    assert int(np.isfinite(ds["gpp_obs"].values).sum()) == 75
    np.testing.assert_array_equal(ds["tmin"].values, t[:, 1])
    np.testing.assert_array_equal(ds["precip"].values, t[:, 8])
    np.testing.assert_array_equal(ds["time"].values, t[:, 0])
    lai = t[:, 10].copy()
    lai[lai <= -9998] = np.nan
    np.testing.assert_array_equal(ds["lai_obs"].values, lai)
    assert ds.attrs["source_format"] == "cbf" and ds.attrs["model_id"] == 1005


def test_site_76_header_options_match_raw_header():
    ds = drivers.read(SITE_76)
    head = raw(SITE_76)[:300]
    gpp = get_obs_options(ds, "gpp")
    assert gpp.error_type == "lognormal" and gpp.unc == head[20] and gpp.threshold == head[22]
    assert gpp.normalisation == ("none" if head[7] == 1 else "divide_mean")
    nbe = get_obs_options(ds, "nbe")
    assert nbe.error_type == "gaussian" and nbe.unc == head[15]
    assert nbe.aggregation == ("pointwise" if head[13] < 0 else "annual_anomaly")
    et = get_obs_options(ds, "et")
    assert et.unc == head[16] and et.threshold == head[21]
    assert get_obs_options(ds, "abgb").unc == head[251]
    priors = {p.index: p for p in parameter_priors(ds)}
    expected = {i for i in range(50) if head[100 + i] > -9998 and head[150 + i] > -9998}
    assert set(priors) == expected
    for i, p in priors.items():
        assert p.value == head[100 + i] and p.unc == abs(head[150 + i])
        assert p.kind == ("lognormal" if head[150 + i] > 0 else "gaussian")


def test_site_76_round_trip_is_byte_identical(tmp_path):
    out = tmp_path / "copy.cbf"
    drivers.write_cbf(drivers.read(SITE_76), out)
    assert out.read_bytes() == SITE_76.read_bytes()


def test_changed_option_is_encoded_and_nothing_else_changes(tmp_path):
    ds = drivers.read(SITE_76)
    set_obs_options(ds, "gpp", get_obs_options(ds, "gpp").replace(unc=2.5))
    out = tmp_path / "changed.cbf"
    drivers.write(ds, out)
    a, b = raw(SITE_76), raw(out)
    changed = np.flatnonzero(a != b)
    assert changed.tolist() == [20] and b[20] == 2.5
    assert get_obs_options(drivers.read(out), "gpp").unc == 2.5


def test_all_204_fluxval_files_read_and_round_trip(tmp_path):
    folder = shared_path("data", "fluxval", "cbf")
    files = sorted(folder.glob("flux_site_*.cbf"), key=lambda p: int(p.stem.split("_")[-1]))
    assert len(files) == 204
    out = tmp_path / "rt.cbf"
    for path in files:
        ds = drivers.read(path)
        t = table(path)
        assert ds.sizes["time"] == t.shape[0]
        assert float(ds["latitude"]) == raw(path)[1]
        assert int(np.isfinite(ds["gpp_obs"].values).sum()) == int(np.sum(t[:, 9] > -9998))
        drivers.write_cbf(ds, out)
        assert out.read_bytes() == path.read_bytes(), path.name


def test_fluxval_spot_checks_against_site_list():
    folder = shared_path("data", "fluxval")
    lines = (folder / "location_fluxnet.csv").read_text().splitlines()[1:]
    for n in (1, 76, 150, 204):
        name, _, lat, lon, _ = lines[n - 1].split(",")
        ds = drivers.read(folder / "cbf" / f"flux_site_{n}.cbf")
        # the CBF latitude is the centre of the 0.5 degree cell that holds the tower
        assert abs(float(ds["latitude"]) - float(lat)) <= 0.25, name
        assert (float(ds["latitude"]) - 0.25) % 0.5 == pytest.approx(0.0, abs=1e-9), name


def test_v22_demo_constraints_and_priors_match_raw_header():
    path = shared_path("data", "cardamom-examples", "binary", "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf")
    ds = drivers.read(path)
    head = raw(path)[:300]
    cons = constraints(ds)
    assert cons["mean_lai"].value == head[204] and cons["mean_lai"].unc == head[254]
    assert cons["mean_fire"].error_type == "gaussian" and cons["mean_fire"].unc == -head[252]
    assert cons["initial_live_biomass"].value == head[200]
    assert get_obs_options(ds, "gpp").normalisation == "divide_mean"  # gppabs = 0
    assert get_obs_options(ds, "lai").assimilate is False  # the mean LAI replaces the series
    assert [p.index for p in parameter_priors(ds)] == [1, 10, 11, 14, 22]


def test_cbr_example_reads_as_2000_by_33(tmp_path):
    path = shared_path("data", "cardamom-examples", "binary", "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbr")
    samples = drivers.read_cbr(path)  # parameter count from the model id of the CBF beside it
    assert samples.shape == (2000, 33)
    np.testing.assert_array_equal(samples.values.ravel(), raw(path))
    out = tmp_path / "copy.cbr"
    drivers.write_cbr(samples, out)
    assert out.read_bytes() == path.read_bytes()


def test_cbr_with_wrong_parameter_count_is_an_error(tmp_path):
    path = tmp_path / "x.cbr"
    path.write_bytes(np.arange(10.0).tobytes())
    with pytest.raises(DriverError, match=r"x\.cbr.*80 bytes.*samples of 3"):
        drivers.read_cbr(path, n_parameters=3)


def test_edinburgh_site_written_as_cbf_keeps_what_fits(tmp_path):
    ds = drivers.read(drivers.data_path("fi-hyy"), policy="jpl")  # JPL error types fit a CBF
    out = tmp_path / "fi.cbf"
    with pytest.warns(UserWarning, match=r"stream\(s\) nee, reco, cwood have no column"):
        with pytest.warns(UserWarning, match=r"constraint\(s\) initial_som have no slot"):
            drivers.write(ds, out)
    back = drivers.read(out)
    for name in ("tmin", "swrad", "precip", "vpd"):
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    np.testing.assert_array_equal(back["gpp_obs"].values, ds["gpp_obs"].values)
    assert get_obs_options(back, "et").error_type == "lognormal"
    head = raw(out)[:300]
    # the JPL default factor 2 is what an unset (-9999) header value means
    assert head[20] in (2.0, -9999.0) and get_obs_options(back, "gpp").unc == 2.0
