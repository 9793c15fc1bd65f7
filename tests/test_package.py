"""The package's import surface: light imports, accessors, lazy names, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import xseaice
from xseaice import exceptions, variables


def test_import_is_light() -> None:
    code = (
        "import sys, xseaice; heavy = [m for m in ('torch', 'odc.stac', 'geopandas') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_accessors_registered() -> None:
    da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"))
    assert hasattr(da, "seaice") and hasattr(da.to_dataset(name="v"), "seaice")
    for name in ("scale_logits", "binarize", "topology", "concentration", "plot"):
        assert callable(getattr(da.seaice, name))
    assert callable(da.to_dataset(name="v").seaice.segment)


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        xseaice.nope  # noqa: B018


def test_errors_share_a_base() -> None:
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        base = exceptions.XSeaIceWarning if name.endswith("Warning") else exceptions.XSeaIceError
        assert issubclass(cls, base), name


def test_missing_variables_error_message_is_readable() -> None:
    err = exceptions.MissingVariablesError("dataset lacks 'hv'")
    assert str(err) == "dataset lacks 'hv'"


def test_sigma0_to_db_floors_and_keeps_nan() -> None:
    out = variables.sigma0_to_db(np.array([1.0, 0.01, 0.0, -1.0, np.nan]))
    floor = variables.SIGMA0_FLOOR_DB
    np.testing.assert_allclose(out[:4], [0.0, -20.0, floor, floor])
    assert np.isnan(out[4])
    assert set(variables.SCENE_VARIABLES) == set(variables.ATTRS)
