"""Binarization, floe labels across dask blocks (vs scipy), leads, floe sizes."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from dask.callbacks import Callback
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from scipy import ndimage

import xseaice  # noqa: F401  (registers the accessor)
from xseaice.exceptions import CRSError, InvalidArgumentError
from xseaice.products.topology import binarize, floe_table, topology

PIX = 10.0


def _map(data: np.ndarray, chunks: object = None, crs: str = "EPSG:3413") -> xr.DataArray:
    ny, nx = data.shape[-2:]
    res = PIX if crs != "EPSG:4326" else 0.01
    gbox = GeoBox.from_bbox((0, 0, nx * res, ny * res), crs, resolution=res)
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    dims: tuple[str, ...] = ("y", "x")
    if data.ndim == 3:
        dims = ("time", "y", "x")
        coords["time"] = np.arange(data.shape[0])
    if crs == "EPSG:4326":
        coords["y"] = coords.pop("latitude").rename(latitude="y")
        coords["x"] = coords.pop("longitude").rename(longitude="x")
    out = xr.DataArray(data, dims=dims, coords=coords, name="ice")
    if chunks is None:
        return out
    return out.chunk(dict(zip(dims, chunks, strict=True)) if isinstance(chunks, tuple) else chunks)


def _blobs(shape: tuple[int, int], seed: int, sigma: float = 2.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (ndimage.gaussian_filter(rng.normal(size=shape), sigma) > 0.05).astype("uint8")


def _assert_same_partition(labels: np.ndarray, ref: np.ndarray) -> None:
    """Equal up to a permutation of the labels (0 stays 0)."""
    assert ((labels == 0) == (ref == 0)).all()
    pairs = np.unique(np.stack([labels.ravel(), ref.ravel()]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))
    assert labels.max() == ref.max() and np.array_equal(np.unique(labels), np.arange(ref.max() + 1))


class _Counter(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.tasks = 0

    def _pretask(self, key, dsk, state):
        self.tasks += 1


def _forbid(*args, **kwargs):
    raise AssertionError("something was computed while only building the graph")


# --- binarize -------------------------------------------------------------------------------


def test_binarize_flags_fill_and_threshold() -> None:
    p = _map(np.array([[0.1, 0.5, 0.49], [np.nan, 0.9, 0.7]]))
    ice = binarize(p)
    assert ice.dtype == np.uint8 and ice.name == "ice"
    assert ice.values.tolist() == [[0, 1, 0], [255, 1, 1]]
    assert ice.attrs["flag_values"].tolist() == [0, 1]
    assert ice.attrs["flag_meanings"] == "water ice" and ice.attrs["_FillValue"] == 255
    assert "spatial_ref" in ice.coords
    assert p.seaice.binarize(threshold=0.8).values.tolist() == [[0, 0, 0], [255, 1, 0]]
    with pytest.raises(InvalidArgumentError, match="threshold"):
        binarize(p, threshold=float("nan"))


def test_binarize_is_lazy(tmp_path) -> None:
    p = _map(np.random.default_rng(0).random((20, 30)), chunks=7)
    counter = _Counter()
    with counter, dask.config.set(scheduler=_forbid):
        ice = binarize(p)
    assert counter.tasks == 0 and isinstance(ice.data, da.Array)
    assert (ice.values == (p.values >= 0.5)).all()
    ice.to_dataset().to_netcdf(tmp_path / "ice.nc")
    back = xr.open_dataset(tmp_path / "ice.nc", mask_and_scale=False)["ice"]
    assert back.dtype == np.uint8 and back.attrs["_FillValue"] == 255


# --- floe labels ------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [4, 8])
def test_labels_equal_scipy_across_chunks(connectivity: int) -> None:
    img = _blobs((150, 170), seed=1)
    img[75, :] = 1  # a floe crossing every chunk column
    img[:, 100] = 1  # ... and every chunk row
    # two pixels that touch only diagonally, exactly at a chunk corner
    img[28:36, 40:50] = 0
    img[31, 44] = img[32, 45] = 1
    img[140:, :20] = 255  # no data is never a floe
    chunks = (32, 45)
    topo = topology(_map(img, chunks=chunks), connectivity=connectivity)
    assert isinstance(topo.floe_id.data, da.Array) and topo.floe_id.dtype == np.int32
    labels = topo.floe_id.values
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    ref, n = ndimage.label(img == 1, structure=structure)
    _assert_same_partition(labels, ref)
    assert int(topo.floe_count) == n
    corner = labels[31, 44] == labels[32, 45]
    assert corner == (connectivity == 8)


def test_labels_single_chunk_and_numpy_agree() -> None:
    img = _blobs((60, 70), seed=4)
    a = topology(_map(img)).floe_id.values
    b = topology(_map(img, chunks=(13, 17))).floe_id.values
    _assert_same_partition(a, ndimage.label(img)[0])
    _assert_same_partition(b, a)


def test_topology_is_lazy() -> None:
    m = _map(_blobs((64, 64), seed=2), chunks=16)
    counter = _Counter()
    with counter, dask.config.set(scheduler=_forbid):
        topo = m.seaice.topology()
        topo = topo.assign(lead_area=topo.lead.sum())
    assert counter.tasks == 0
    assert all(isinstance(v.data, da.Array) for v in topo.data_vars.values())


# --- leads ------------------------------------------------------------------------------


def _lead_image() -> tuple[np.ndarray, np.ndarray]:
    """A hand-drawn 12 x 24 scene at 10 m pixels, and its leads for a 30 m maximum width."""
    img = np.ones((12, 24), dtype="uint8")
    img[:, 3:5] = 0  # A: 2 px (20 m) channel between floes -> lead
    img[:, 8:12] = 0  # B: 4 px (40 m) channel -> too wide
    img[:, 14:17] = 0  # C: 3 px (30 m) channel -> lead
    img[6, 20] = 0  # D: a one-pixel hole in a floe -> lead
    img[:, 22:] = 255  # no data
    img[0:4, 21] = 0  # E: water between a floe and no data, width unknown -> not a lead
    lead = np.zeros(img.shape, dtype="uint8")
    lead[:, 3:5] = lead[:, 14:17] = 1
    lead[6, 20] = 1
    lead[:, 22:] = 255
    return img, lead


@pytest.mark.parametrize("chunks", [None, (5, 7)])
def test_leads_on_a_hand_drawn_image(chunks: object) -> None:
    img, expected = _lead_image()
    topo = topology(_map(img, chunks=chunks), lead_max_width=30.0)
    assert topo.lead.values.tolist() == expected.tolist()
    valid = np.count_nonzero(img != 255)
    assert float(topo.lead_fraction) == pytest.approx((24 + 36 + 1) / valid)
    assert float(topo.ice_fraction) == pytest.approx(np.count_nonzero(img == 1) / valid)
    # widths are in metres: at 39 m the 4 px channel is still too wide, at 40 m it is a lead
    wider = topology(_map(img), lead_max_width=40.0).lead.values
    assert (wider[:, 8:12] == 1).all() and (wider[0:4, 21] == 0).all()
    assert (topology(_map(img), lead_max_width=39.0).lead.values[:, 8:12] == 0).all()


def test_diagonal_lead() -> None:
    img = np.ones((24, 24), dtype="uint8")
    for k in range(2, 21):  # a 2 px wide diagonal channel, ending inside the floes
        img[k, k] = img[k, k + 1] = 0
    lead = topology(_map(img), lead_max_width=20.0).lead.values
    assert (lead[img == 0] == 1).all() and (lead[img == 1] == 0).all()
    # a diagonal channel of single pixels separates floes with 4-connectivity only
    thin = np.ones((10, 10), dtype="uint8")
    thin[np.arange(10), np.arange(10)] = 0
    assert int(topology(_map(thin), connectivity=4).floe_count) == 2
    assert int(topology(_map(thin), connectivity=8).floe_count) == 1


@pytest.mark.parametrize("width", [30.0, 90.0])
def test_leads_across_chunks_equal_one_block(width: float) -> None:
    img = _blobs((90, 110), seed=5, sigma=1.5)
    img[:8, :8] = 255
    whole = topology(_map(img), lead_max_width=width).lead.values
    chunked = topology(_map(img, chunks=(7, 9)), lead_max_width=width).lead.values
    assert np.array_equal(whole, chunked)
    assert 0 < np.count_nonzero(whole == 1) < np.count_nonzero(img == 0)


# --- floe table and size distribution ---------------------------------------------------


def test_floe_table_and_size_distribution_match_scipy() -> None:
    img = _blobs((80, 90), seed=6)
    topo = topology(_map(img, chunks=(20, 25)))
    table = floe_table(topo)
    ref, n = ndimage.label(img)
    assert len(table) == n == int(topo.floe_count)
    labels = topo.floe_id.values
    sizes = ndimage.sum_labels(np.ones_like(ref), ref, index=np.arange(1, n + 1))
    for row in table.itertuples():
        ref_id = ref[labels == row.floe_id][0]
        assert row.pixels == sizes[ref_id - 1]
        assert row.area_m2 == pytest.approx(row.pixels * PIX * PIX)
        assert row.equivalent_diameter_m == pytest.approx(2 * np.sqrt(row.area_m2 / np.pi))
        cy, cx = ndimage.center_of_mass(ref == ref_id)
        assert row.y == pytest.approx(float(topo.y[0]) - cy * PIX)
        assert row.x == pytest.approx(float(topo.x[0]) + cx * PIX)
        border = np.concatenate([ref[0], ref[-1], ref[:, 0], ref[:, -1]])
        assert row.touches_edge == (ref_id in border)
    edges = [*topo.fsd_area_min.values.tolist(), float(topo.fsd_area_max[-1])]
    expected, _ = np.histogram(sizes * PIX * PIX, bins=edges)
    assert topo.floe_size_distribution.values.tolist() == expected.tolist()
    assert int(topo.floe_size_distribution.sum()) == n


def test_time_dimension_and_custom_bins() -> None:
    stack = np.stack([_blobs((40, 50), seed=7), _blobs((40, 50), seed=8)])
    topo = topology(_map(stack, chunks=(1, 16, 16)), fsd_bins=[100.0, 1000.0, 1e5, 1e7])
    assert topo.floe_id.dims == ("time", "y", "x")
    assert topo.floe_size_distribution.dims == ("time", "fsd_bin")
    for t in range(2):
        ref, n = ndimage.label(stack[t])
        assert int(topo.floe_count[t]) == n
        _assert_same_partition(topo.floe_id.values[t], ref)
    table = floe_table(topo)
    assert sorted(table["time"].unique().tolist()) == [0, 1]


def test_pixel_size_and_errors() -> None:
    img = _blobs((20, 20), seed=9)
    bare = xr.DataArray(img, dims=("y", "x"))
    with pytest.raises(InvalidArgumentError, match="pixel_size"):
        topology(bare)
    assert topology(bare, pixel_size=40.0).attrs["pixel_area_m2"] == 1600.0
    with pytest.raises(CRSError, match="geographic"):
        topology(_map(img, crs="EPSG:4326"))
    with pytest.raises(InvalidArgumentError, match="connectivity"):
        topology(bare, pixel_size=1.0, connectivity=6)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="fsd_bins"):
        topology(bare, pixel_size=1.0, fsd_bins=[5.0, 1.0])


def _leads_by_walking(img: np.ndarray, kmax: tuple[int, int, int, int]) -> np.ndarray:
    """Lead flags pixel by pixel: walk both ways from each water pixel along each
    direction; a lead when both walks stop at ice and the run is at most k pixels."""
    h, w = img.shape
    out = np.where(img == 255, 255, 0).astype("uint8")
    for y, x in zip(*np.nonzero(img == 0), strict=True):
        for (dy, dx), k in zip(((0, 1), (1, 0), (1, 1), (1, -1)), kmax, strict=True):
            ends, length = [], 1
            for sy, sx in ((dy, dx), (-dy, -dx)):
                yy, xx = y + sy, x + sx
                while 0 <= yy < h and 0 <= xx < w and img[yy, xx] == 0:
                    yy, xx, length = yy + sy, xx + sx, length + 1
                ends.append(0 <= yy < h and 0 <= xx < w and img[yy, xx] == 1)
            if k >= 1 and all(ends) and length <= k:
                out[y, x] = 1
                break
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lead_runs_equal_walking_every_pixel(seed: int) -> None:
    from xseaice.products.topology import _lead_block

    rng = np.random.default_rng(seed)
    img = (rng.random((23, 31)) < 0.55).astype("uint8")  # short runs in every direction
    img[rng.random(img.shape) < 0.05] = 255
    for kmax in ((3, 3, 2, 2), (1, 4, 0, 3), (6, 6, 4, 4)):
        np.testing.assert_array_equal(_lead_block(img, kmax), _leads_by_walking(img, kmax))
