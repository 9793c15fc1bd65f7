"""Plots: cartopy maps in the data's own projection, plain km axes, class legends, errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest
import xarray as xr

import xseaice  # noqa: F401  (registers .seaice)
from xseaice import plotting
from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.plotting import map_projection, plot
from xseaice.synthetic import make_scene

matplotlib.use("Agg")

import matplotlib.pyplot as plt

MEANINGS = ["open_water", "young_ice", "old_ice"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """No network while plotting (cartopy downloads Natural Earth on draw); close figures."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"plotting tried to open a network connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    try:
        import cartopy
        import cartopy.io.shapereader
    except ImportError:
        pass
    else:
        monkeypatch.setitem(cartopy.config, "data_dir", tmp_path / "cartopy")
        monkeypatch.setattr(cartopy.io.Downloader, "acquire_resource", refuse)
        monkeypatch.setattr(cartopy.io.shapereader.NEShpDownloader, "acquire_resource", refuse)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def hh() -> xr.DataArray:
    """Backscatter with a ``spatial_ref`` coordinate (EPSG:3413), 40 m pixels."""
    return make_scene(0, shape=(64, 64)).dataset["hh"]


@pytest.fixture(scope="module")
def classes(hh: xr.DataArray) -> xr.DataArray:
    """A uint8 class map with CF flag attributes, on the grid of ``hh``."""
    values = hh.isel(time=0).values
    codes = np.digitize(values, np.nanpercentile(values, [33, 66])).astype("uint8")
    return xr.DataArray(
        codes,
        dims=("y", "x"),
        coords={k: v for k, v in hh.coords.items() if k != "time"},
        name="ice_type",
        attrs={"flag_values": [0, 1, 2], "flag_meanings": " ".join(MEANINGS)},
    )


def _bounds(da: xr.DataArray) -> tuple[float, float, float, float]:
    """``(left, right, bottom, top)`` of the pixel edges, in metres."""
    box = da.odc.geobox.extent.boundingbox
    return (box.left, box.right, box.bottom, box.top)


def _without_crs(da: xr.DataArray) -> xr.DataArray:
    """The same pixels and x/y coordinates, with no CRS anywhere."""
    da = da.isel(time=0) if "time" in da.dims else da
    return xr.DataArray(
        da.values, dims=("y", "x"), coords={"y": da.y.values, "x": da.x.values}, name=da.name
    )


def _geoaxes() -> Any:
    pytest.importorskip("cartopy")
    from cartopy.mpl.geoaxes import GeoAxes

    return GeoAxes


def test_auto_map_is_in_the_data_projection(hh: xr.DataArray) -> None:
    geoaxes = _geoaxes()
    crs = hh.odc.crs.proj
    assert crs.to_epsg() == 3413
    ax = plot(hh)
    assert isinstance(ax, geoaxes)
    assert ax.projection.to_epsg() == 3413
    assert ax.projection.to_wkt() == crs.to_wkt()  # same parameters, datum and axes
    assert ax.projection.is_exact_same(crs)
    (image,) = ax.get_images()
    np.testing.assert_allclose(image.get_extent(), _bounds(hh))
    left, right, bottom, top = _bounds(hh)
    np.testing.assert_allclose(ax.get_xlim(), (left, right))
    np.testing.assert_allclose(ax.get_ylim(), (bottom, top))
    # The map's domain holds the data (cartopy.crs.epsg(3413) alone covers one quadrant,
    # x in [-2350, 0] km and y in [0, 2350] km, which misses this scene).
    x0, x1, y0, y1 = ax.projection.bounds
    assert x0 < left < right < x1 and y0 < bottom < top < y1
    ax.figure.canvas.draw()
    (gridliner,) = _find_gridliners(ax)
    assert gridliner.label_artists, "latitude/longitude labels are drawn"
    labels = " ".join(a.get_text() for a in gridliner.label_artists if a.get_visible())
    assert "°N" in labels and "°W" in labels, labels
    assert len(ax.figure.axes) == 2, "a colour bar"


def _find_gridliners(ax: Any) -> list[Any]:
    from cartopy.mpl.gridliner import Gridliner

    return [a for a in ax.artists if isinstance(a, Gridliner)]


def test_plain_axes_in_km(hh: xr.DataArray) -> None:
    for projection in (None, False):
        ax = plot(hh, projection=projection)
        assert type(ax).__name__ == "Axes"
        assert not hasattr(ax, "projection")
        (image,) = ax.get_images()
        np.testing.assert_allclose(image.get_extent(), np.array(_bounds(hh)) / 1000.0)
        assert ax.get_xlabel() == "x [km]" and ax.get_ylabel() == "y [km]"
        ax.figure.canvas.draw()


def test_accessor_forwards_projection(hh: xr.DataArray) -> None:
    plain = hh.seaice.plot(projection=None, add_colorbar=False)
    assert not hasattr(plain, "projection")
    assert len(plain.figure.axes) == 1
    pytest.importorskip("cartopy")
    mapped = hh.seaice.plot(title="HH")
    assert mapped.projection.to_epsg() == 3413
    assert mapped.get_title() == "HH"


@pytest.mark.parametrize("projection", ["auto", None])
def test_class_map_legend_in_both_modes(classes: xr.DataArray, projection: Any) -> None:
    if projection == "auto":
        _geoaxes()
    ax = plot(classes, projection=projection)
    assert hasattr(ax, "projection") == (projection == "auto")
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [m.replace("_", " ") for m in MEANINGS]
    (image,) = ax.get_images()
    scale = 1.0 if projection == "auto" else 1000.0
    np.testing.assert_allclose(image.get_extent(), np.array(_bounds(classes)) / scale)
    ax.figure.canvas.draw()


def test_without_crs_falls_back_to_plain_axes(hh: xr.DataArray) -> None:
    bare = _without_crs(hh)
    assert bare.odc.crs is None
    ax = plot(bare)
    assert not hasattr(ax, "projection")
    assert ax.get_xlabel() == "x [km]"
    ax.figure.canvas.draw()
    if plotting._cartopy_crs() is not None:
        with pytest.raises(CRSError, match="spatial_ref"):
            plot(bare, projection=True)


def test_without_cartopy_falls_back_to_plain_axes(
    hh: xr.DataArray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plotting, "_cartopy_crs", lambda: None)
    ax = plot(hh)
    assert not hasattr(ax, "projection")
    np.testing.assert_allclose(ax.get_images()[0].get_extent(), np.array(_bounds(hh)) / 1000)
    with pytest.warns(UserWarning, match="coastlines=True was ignored"):
        plot(hh, coastlines=True)
    with pytest.raises(ImportError, match=r"xseaice\[plot\]"):
        plot(hh, projection=True)


@pytest.mark.parametrize("bad", ["EPSG:3413", "polar", 3413, 1.5, object()])
def test_bad_projection_is_rejected(hh: xr.DataArray, bad: Any) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        plot(hh, projection=bad)
    message = str(info.value)
    assert "projection=" in message  # the argument
    assert "expected 'auto'" in message  # what was expected
    assert "cartopy.crs.Projection" in message and "pass one of these" in message  # the fix
    assert not plt.get_fignums(), "no figure is left behind"


def test_coastlines_need_a_map(hh: xr.DataArray) -> None:
    with pytest.raises(InvalidArgumentError, match="coastlines=True"):
        plot(hh, projection=None, coastlines=True)


def test_coastlines_are_added_but_not_fetched(hh: xr.DataArray) -> None:
    _geoaxes()
    from cartopy.mpl.feature_artist import FeatureArtist

    ax = plot(hh, coastlines=True)
    features = [a for a in ax.get_children() if isinstance(a, FeatureArtist)]
    assert [f._feature.name for f in features] == ["coastline"]
    # Not drawn: cartopy would fetch Natural Earth, which needs the network.


def test_user_geoaxes_and_reprojection(hh: xr.DataArray) -> None:
    _geoaxes()
    import cartopy.crs as ccrs

    fig = plt.figure()
    ax = fig.add_subplot(projection=map_projection(hh))
    assert plot(hh, ax=ax, add_colorbar=False) is ax
    np.testing.assert_allclose(ax.get_images()[0].get_extent(), _bounds(hh))
    np.testing.assert_allclose(ax.get_xlim(), _bounds(hh)[:2])
    assert not _find_gridliners(ax), "user axes are used as they are"
    fig.canvas.draw()

    # cartopy's own EPSG projection has a domain of one Arctic quadrant: a clear error.
    fig2 = plt.figure()
    epsg_ax = fig2.add_subplot(projection=ccrs.epsg(3413))
    with pytest.raises(CRSError, match="map_projection"):
        plot(hh, ax=epsg_ax)

    # A map in another projection: the image is regridded onto it.
    nps = ccrs.NorthPolarStereo()
    ax3 = plot(hh, projection=nps)
    assert ax3.projection is nps
    ax3.figure.canvas.draw()
    regridded = np.ma.masked_invalid(ax3.get_images()[0].get_array())
    assert regridded.count() > 0.3 * regridded.size, "the scene is drawn into the view"

    # A plain matplotlib axes gets km, a GeoAxes needs a CRS.
    bare = _without_crs(hh)
    fig4 = plt.figure()
    geo_ax = fig4.add_subplot(projection=map_projection(hh))
    with pytest.raises(CRSError, match="spatial_ref"):
        plot(bare, ax=geo_ax)


def test_map_projection_needs_a_crs(hh: xr.DataArray) -> None:
    _geoaxes()
    proj = map_projection(hh)
    assert proj.to_epsg() == 3413
    with pytest.raises(CRSError, match="assign_crs"):
        map_projection(_without_crs(hh))
