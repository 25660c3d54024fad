"""``dalec-mdf forward``: CBF drivers + parameter CSV -> netCDF with a sample dimension."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

import dalec
import drivers
from mdf.cli import main
from tests.dalec.reference import load_case

CBF = Path(__file__).resolve().parents[1] / "data" / "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf"


def _write(path, rows, header=None):
    lines = [",".join(header)] if header else []
    lines += [",".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_forward_with_and_without_header(tmp_path):
    _, pars, _, _ = load_case("dalec809")
    model = dalec.get_model("809")
    rows = np.stack([pars, pars * 1.02])
    # header in a shuffled order: columns are matched by name
    order = np.random.default_rng(1).permutation(model.n_parameters)
    _write(tmp_path / "named.csv", rows[:, order], [model.parameter_names[i] for i in order])
    _write(tmp_path / "plain.csv", rows)
    for name in ("named", "plain"):
        out = tmp_path / f"{name}.nc"
        code = main(["forward", str(CBF), "--model", "809",
                     "--parameters", str(tmp_path / f"{name}.csv"), "--out", str(out)])
        assert code == 0
        with xr.open_dataset(out, decode_times=False) as ds:
            assert ds.sizes["sample"] == 2
            assert ds.sizes["state_time"] == ds.sizes["time"] + 1 == 73
            expected = dalec.run("809", drivers.read(CBF), rows)
            np.testing.assert_array_equal(ds["nee"].values, expected["nee"].values)
            assert ds["nee"].attrs["units"] == "g m-2 d-1"
            assert "source" in ds["nee"].attrs["comment"]


def test_forward_bad_parameters_leave_no_file(tmp_path, caplog):
    _write(tmp_path / "p.csv", [np.ones(10)])
    out = tmp_path / "out.nc"
    code = main(["forward", str(CBF), "--model", "400", "--parameters",
                 str(tmp_path / "p.csv"), "--out", str(out)])
    assert code == 2
    assert "row 1 has 10 values; model 400 has 23 parameters" in caplog.text
    assert list(tmp_path.iterdir()) == [tmp_path / "p.csv"]
