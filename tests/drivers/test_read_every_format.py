"""drivers.read handles every format, and the result runs forward (what `dalec-mdf forward`
does with it): JPL models on evenly stepped inputs, DALEC.C1 on calendar months."""

from __future__ import annotations

import numpy as np
import pytest

import dalec
import drivers
from tests.conftest import shared_path


def middle(model):
    """A parameter vector in the middle of the prior box (geometric middle for log scales)."""
    lo, hi = model.bounds.T
    return np.where([p.log for p in model.parameters], np.sqrt(lo * hi), (lo + hi) / 2)


def site_csv(tmp_path, monthly: bool):
    path = tmp_path / ("monthly.csv" if monthly else "daily.csv")
    n = 36 if monthly else 400
    rng = np.random.default_rng(3)
    rows = []
    for k in range(n):
        date = (
            f"{2005 + k // 12}-{k % 12 + 1:02d}"
            if monthly
            else str(np.datetime64("2005-01-01") + np.timedelta64(k, "D"))
        )
        tmin = 5 + 10 * np.sin(2 * np.pi * k / (12 if monthly else 365)) + rng.normal()
        rows.append(
            f"{date},{tmin + 273.15},{tmin + 8},{150 + 80 * np.sin(k)},380,"
            f"{0.8 + rng.uniform()},{rng.uniform(0, 5e-5)}"
        )
    path.write_text(
        "# latitude: 51.3\ndate,tmin [K],tmax [degC],swrad [W m-2],co2 [ppm],"
        "vpd [kPa],precip [kg m-2 s-1]\n" + "\n".join(rows) + "\n"
    )
    return path


def run(model_name, path, **options):
    model = dalec.get_model(model_name)
    pixel = drivers.read(path, **options)
    out = dalec.run(model, pixel, middle(model))
    assert np.all(np.isfinite(out["gpp"].values)) and float(out["gpp"].mean()) > 0
    assert out.sizes["time"] == pixel.sizes["time"]
    return pixel


def test_packaged_formats(tmp_path):
    assert drivers.detect(drivers.data_path("flux_site_76.cbf")).name == "cbf"
    run("811", drivers.data_path("flux_site_76.cbf"))
    run("400", drivers.data_path("flux_site_76.cbf"))
    for path in (
        drivers.data_path("fi-hyy"),
        drivers.data_path("fi-hyy", "FI-Hyy_timeseries_met.csv"),
        drivers.data_path("fi-hyy", "FI-Hyy_timeseries_obs.csv"),
    ):
        assert drivers.detect(path).name == "edinburgh_site"
        run("C1", path)
    # a JPL file runs through an Edinburgh model with its derived drivers, and back
    run("C1", drivers.data_path("flux_site_76.cbf"))
    monthly, daily = site_csv(tmp_path, True), site_csv(tmp_path, False)
    assert drivers.detect(monthly).name == drivers.detect(daily).name == "site_csv"
    run("C1", monthly)
    run("811", daily)


@pytest.mark.parametrize(
    ("parts", "fmt", "model"),
    [
        (("cardamom-examples", "binary", "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf"), "cbf", "809"),
        (
            ("cardamom-examples", "netcdf", "CARDAMOM_DRIVER_FILE_EXAMPLE_1100.nc"),
            "cbf_netcdf",
            "811",
        ),
        (
            ("cardamom-examples", "netcdf", "CARDAMOM_DEMO_DRIVERS_prototype_821.cbf.nc"),
            "cbf_netcdf",
            "811",
        ),
        (("daily-fluxnet", "US-Ha1.nc"), "cbf_netcdf", "811"),
        (("cardamom-examples", "edinburgh-bin", "c1_BR-Sa1.bin"), "edinburgh_bin", "C1"),
        (("cardamom-examples", "edinburgh-bin", "d4_FI-Hyy.bin"), "edinburgh_bin", "C1"),
        (("br-sa1", "drivers.csv"), "edinburgh_drivers", "C1"),
        (("br-sa1",), "edinburgh_drivers", "C1"),
        (("us-ha1", "USHa1_timeseries_met.csv"), "edinburgh_site", "C1"),
    ],
)
def test_shared_formats(parts, fmt, model):
    path = shared_path("data", *parts)
    assert drivers.detect(path).name == fmt
    pixel = run(model, path)
    assert pixel.attrs["source_format"] == fmt


def test_dalec4_runs_on_edinburgh_inputs():
    try:
        model = dalec.get_model("DALEC.4")
    except dalec.ModelError:
        pytest.skip("DALEC.4 is not registered in this checkout")
    pixel = drivers.read(drivers.data_path("fi-hyy"))
    assert set(model.drivers) <= set(pixel.variables)
    out = dalec.run(model, pixel, middle(model))
    assert np.all(np.isfinite(out["gpp"].values))
    with pytest.raises(drivers.DriverError, match=r"missing driver variable\(s\) 'wind'"):
        drivers.read(drivers.data_path("flux_site_76.cbf"), require=model.drivers)


def test_cli_forward_reads_through_drivers_read(tmp_path):
    cli = pytest.importorskip("mdf.cli")
    model = dalec.get_model("C1")
    pars = tmp_path / "pars.csv"
    pars.write_text(
        ",".join(model.parameter_names)
        + "\n"
        + ",".join(repr(float(x)) for x in middle(model))
        + "\n"
    )
    out = tmp_path / "out.nc"
    assert (
        cli.main(
            [
                "forward",
                str(drivers.data_path("fi-hyy")),
                "--model",
                "C1",
                "--parameters",
                str(pars),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.is_file()
