"""ALS in bounded memory: the sparse block region histograms against numpy, and
``reread=True`` (each pass reads the stored logits anew) against holding them."""

from __future__ import annotations

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from dask.callbacks import Callback
from dask.utils import key_split
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from zarr.storage import LocalStore

from xseaice.products.als import scale_logits
from xseaice.products.als_regions import _region_hist_graph
from xseaice.products.percentiles import _stats_graph
from xseaice.workflow import products_from_logits


def _values(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, size=shape).astype("float32")
    z[..., :5, :7] = np.nan  # no data in a corner block
    z[..., 30, 40] = np.inf  # not finite: left out
    return z


@pytest.mark.parametrize("nbins", [64, 1000])
def test_region_histogram_of_blocks_equals_numpy(nbins: int) -> None:
    z = _values(1, (2, 50, 70))
    rng = np.random.default_rng(2)
    rid = rng.integers(0, 6, size=(50, 70)).astype("int32")
    rid[20:35, 25:60] = 3  # a region crossing block edges and corners
    zd = da.from_array(z, chunks=(1, 16, 20))
    rd = da.from_array(rid, chunks=(16, 20))
    stats = _stats_graph(zd, "tab")
    rhist = _region_hist_graph(zd, rd, stats, nbins, 5).compute()
    assert rhist.shape == (2, 6, nbins) and rhist.dtype == np.int64
    for t in range(2):
        ok = np.isfinite(z[t])
        lo, hi = float(z[t][ok].min()), float(z[t][ok].max())
        for r in range(6):
            ref, _ = np.histogram(z[t][ok & (rid == r)].astype("float64"), nbins, (lo, hi))
            np.testing.assert_array_equal(rhist[t, r], ref)
        assert rhist[t].sum() == ok.sum()


class _CountingStore(LocalStore):
    """A local Zarr store counting the reads of ``ice_logit`` chunks."""

    reads = 0

    async def get(self, key, prototype=None, byte_range=None):
        if key.startswith("ice_logit/") and not key.rsplit("/", 1)[-1].startswith("."):
            type(self).reads += 1
        return await super().get(key, prototype, byte_range)


def _stored_logits(tmp_path, chunks: tuple[int, int] = (16, 24)) -> xr.DataArray:
    """Logits (2 time steps, 60 x 80) written to Zarr and opened lazily, as the workflow
    opens its stored logits (through a store that counts chunk reads)."""
    z = _values(3, (2, 60, 80))
    gbox = GeoBox.from_bbox((0, 0, 8000, 6000), "EPSG:3413", resolution=100)
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    coords["time"] = np.array(["2023-01-04", "2023-01-05"], dtype="datetime64[ns]")
    arr = xr.DataArray(z, dims=("time", "y", "x"), coords=coords, name="ice_logit")
    arr.chunk({"time": 1, "y": chunks[0], "x": chunks[1]}).to_dataset().to_zarr(
        tmp_path / "logits.zarr", zarr_format=2
    )
    store = _CountingStore(tmp_path / "logits.zarr", read_only=True)
    return xr.open_zarr(store, chunks={})["ice_logit"]


def _chart() -> gpd.GeoDataFrame:
    polys = [
        shapely.box(0, 3000, 4000, 6000),
        shapely.box(4000, 3000, 8000, 6000),
        shapely.Polygon([(0, 0), (5000, 0), (2000, 2900)]),
    ]
    return gpd.GeoDataFrame({"ct": [0.3, 0.9, 0.05]}, geometry=polys, crs="EPSG:3413")


class _Held(Callback):
    """The most blocks of stored logits dask held at once (unfused read tasks)."""

    def __init__(self) -> None:
        super().__init__()
        self.max_held = 0

    def _posttask(self, key, result, dsk, state, id):
        held = sum(1 for k in state["cache"] if key_split(k).startswith("open_dataset"))
        self.max_held = max(self.max_held, held)


@pytest.mark.parametrize("preserve", ["chart", "scene"])
def test_reread_reads_each_pass_and_equals_holding(tmp_path, preserve) -> None:
    stored = _stored_logits(tmp_path)
    nblocks = stored.data.npartitions  # 2 x 4 x 4
    mode = _chart() if preserve == "chart" else preserve
    results, reads, held = {}, {}, {}
    for reread in (False, True):
        counter = _Held()
        _CountingStore.reads = 0
        with counter, dask.config.set(scheduler="sync"):
            prob = scale_logits(stored, preserve=mode, reread=reread)
            # unoptimised, so that no read is fused into (and repeated by) its consumers
            results[reread] = prob.compute(optimize_graph=False)
        reads[reread], held[reread] = _CountingStore.reads, counter.max_held
    xr.testing.assert_identical(results[False], results[True])
    # holding: the apply pass's reads wait for the parameters, all blocks at once;
    # reread: never more than two blocks held, paid for with more reads (dask repeats
    # the reads that feed the delayed statistics either way, so only the order is fixed)
    assert held[False] == nblocks
    assert held[True] <= 2
    assert reads[True] > reads[False] >= nblocks


def test_products_from_stored_logits_with_reread_equal_holding(tmp_path) -> None:
    stored = _stored_logits(tmp_path)
    with dask.config.set(scheduler="sync"):
        held = products_from_logits(stored, preserve=_chart()).compute()
        again = products_from_logits(stored, preserve=_chart(), reread=True).compute()
    xr.testing.assert_identical(held, again)
    assert int(again.floe_count.max()) > 0
