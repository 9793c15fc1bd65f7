"""Lazy, co-registered loading of Sentinel-1 GRD, AMSR-2 and geocoded assets onto one GeoBox.

[`load`][xseaice.stac.loading.load] turns search results (or pystac items) into the scene dataset of
`xseaice.variables`: ``hh``, ``hv`` (calibrated, thermal-noise-removed sigma0 in dB),
``incidence_angle`` and the AMSR-2 brightness temperatures ``tb18h`` ... ``tb36v`` on one
polar stereographic grid, dims ``(time, y, x)``.

How Sentinel-1 is put on the map
--------------------------------
Through its GCPs and calibration annotation, chunk by chunk ([`xseaice.stac.grd`][]).

Scenes of one day (or one pass, ``groupby="pass"``) are mosaicked, first valid pixel in
time order; days are stacked on ``time``.  Building the dataset reads nothing: the
annotation XML files are read by tasks too (once per item), so the first byte is
requested when something is computed.

AMSR-2
------
For every time step the AMSR-2 file of the same UTC day (nearest in time) is read once
with [`xseaice.io.amsr2.read_amsr2`][] and reprojected bilinearly onto each chunk
([`xseaice.stac.amsr2_graph.reproject_to`][]).  Without any AMSR-2 item the dataset holds the
Sentinel-1 variables only and a [`MissingSensorWarning`][xseaice.exceptions.MissingSensorWarning] is
issued; time steps without an AMSR-2 file of their day get NaN, with the same warning.
Chunks that no Sentinel-1 footprint touches are NaN for AMSR-2 too (nothing to fuse it
with), so a rotated swath's empty corners cost nothing.

No-data check (at compute time)
-------------------------------
A load that silently returns nothing is the classic failure of GCP-geolocated data (a
degenerate GCP layout maps every cell outside the image).  Each chunk task counts, among
the cells inside the items' footprints (the STAC geometry shrunk by 3 km, past the no-data
borders of GRD products), how many got a valid value; below ``nodata_check`` (default 0.5)
it raises [`MostlyNodataError`][xseaice.exceptions.MostlyNodataError] naming the items.  The check
runs where the pixels are computed, so it costs nothing extra and never reads data eagerly; pass
``nodata_check=None`` to switch it off.

Geocoded assets
---------------
Items of any other collection whose assets carry a real georeference (a COG or netCDF
with ``proj:*`` or its own transform: a sea-ice-concentration product, a land mask, a
user's own collection) are loaded with ``bands=[...]`` through `odc.stac.load` onto
the same GeoBox and chunks ([`xseaice.stac.geocoded`][]).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xseaice.exceptions import EmptySearchError, InvalidArgumentError, LoadError
from xseaice.io.http import DEFAULT_TIMEOUT
from xseaice.stac.amsr2_graph import amsr2_stack
from xseaice.stac.grd import (
    FOOTPRINT_MARGIN_M,
    S1Options,
    multilook_enl,
    multilook_factor,
    pol_attrs,
    s1_stack,
)
from xseaice.stac.grid import ChunkLayout, crop_to_footprints, resolve_geobox
from xseaice.stac.items import group_items, sensor_of
from xseaice.stac.searching import SearchResult, search
from xseaice.variables import AMSR2_VARIABLES, ATTRS

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["load", "open_scene"]

logger = logging.getLogger(__name__)


@dataclass
class _Inputs:
    s1: list[Any] = field(default_factory=list)
    amsr2: list[Any] = field(default_factory=list)
    other: list[Any] = field(default_factory=list)
    sign: dict[str, Callable[[str], str] | None] = field(default_factory=dict)
    bbox: Any = None
    polarizations: tuple[str, ...] | None = None


def _collect(
    result_or_items: Any, patch_url: Callable[[str], str] | None, *, geocoded: bool
) -> _Inputs:
    """Sort the items by sensor; others are geocoded items when ``bands`` was given."""
    import pystac

    inputs = _Inputs()
    if isinstance(result_or_items, SearchResult):
        inputs.s1 = list(result_or_items.sentinel1)
        inputs.amsr2 = list(result_or_items.amsr2)
        for sensor in ("sentinel-1", "amsr2"):
            cat = result_or_items.catalog_for(sensor)
            if cat is None or cat.sign is None or result_or_items.signed:
                inputs.sign[sensor] = None  # signed already (search(sign=True)) or not needed
            else:
                inputs.sign[sensor] = cat.sign_href
        inputs.bbox = result_or_items.bbox
        inputs.polarizations = result_or_items.polarizations
    else:
        if isinstance(result_or_items, (pystac.Item, dict)):
            result_or_items = [result_or_items]
        elif isinstance(result_or_items, pystac.ItemCollection):
            result_or_items = list(result_or_items)
        if not isinstance(result_or_items, Iterable) or isinstance(result_or_items, (str, bytes)):
            raise InvalidArgumentError(
                f"result_or_items of type {type(result_or_items).__name__} is not "
                "understood; expected xseaice.search(...)'s result, a pystac Item or a "
                "list of Items."
            )
        for it in result_or_items:
            if isinstance(it, dict):
                it = pystac.Item.from_dict(it)
            if not isinstance(it, pystac.Item):
                raise InvalidArgumentError(
                    f"result_or_items holds a {type(it).__name__}; expected pystac Items."
                )
            kind = sensor_of(it)
            if kind == "sentinel-1":
                inputs.s1.append(it)
            elif kind == "amsr2":
                inputs.amsr2.append(it)
            elif geocoded:
                inputs.other.append(it)
            else:
                raise InvalidArgumentError(
                    f"item {it.id!r} is neither Sentinel-1 nor AMSR-2 (collection "
                    f"{it.collection_id!r}); pass only items found by xseaice.search, or "
                    "bands=[...] to load the assets of geocoded items (COGs) too."
                )
    if patch_url is not None:
        inputs.sign = {"sentinel-1": patch_url, "amsr2": patch_url, "other": patch_url}
    return inputs


def load(
    result_or_items: Any,
    *,
    resolution: float = 40.0,
    crs: Any = None,
    bbox: Any = None,
    geobox: Any = None,
    chunks: Any = None,
    polarizations: Sequence[str] | None = None,
    groupby: Literal["day", "pass"] = "day",
    resampling: Literal["bilinear", "nearest"] = "bilinear",
    denoise: bool = True,
    amsr2: bool = True,
    amsr2_pass: Literal["DAY", "ASC", "DSC"] = "DAY",
    nodata_check: float | None = 0.5,
    patch_url: Callable[[str], str] | None = None,
    retries: int = 3,
    timeout: float = DEFAULT_TIMEOUT,
    bands: Sequence[str] | None = None,
) -> xr.Dataset:
    """Load Sentinel-1 and AMSR-2 items lazily onto one polar grid.

    Parameters
    ----------
    result_or_items : SearchResult, pystac.Item or sequence of pystac.Item
        What [`xseaice.search`][xseaice.stac.searching.search] returned, or items (Sentinel-1 GRD
        and AMSR-2 L3).
    resolution : float
        Cell size in metres (40 m = EW GRDM pixel spacing).  Coarser cells average the
        radar pixels in linear power (multilook, ``round(resolution / 40)`` squared
        looks); ``hh`` / ``hv`` record it in ``multilook`` and
        ``equivalent_number_of_looks`` (the items' ENL times the box size).
    crs : optional
        Output CRS (``"EPSG:3413"``, ``3031``, WKT...).  Default: EPSG:3413 north /
        EPSG:3031 south, from the region's latitude.
    bbox : (west, south, east, north), optional
        Region in degrees.  Default: the searched bbox cut to the window of the grid that
        holds the Sentinel-1 footprints, or the union of the footprints for plain items.
    geobox : odc.geo.geobox.GeoBox, optional
        An explicit output grid (overrides ``resolution``, ``crs`` and ``bbox``), e.g.
        to load another date onto the grid of an earlier dataset (``ds.odc.geobox``).
    chunks : int, (int, int) or dict, optional
        Spatial chunk size; default 1024 x 1024 (a multiple of 256, as the models' tiles).
        ``time`` is always one chunk per step.
    polarizations : sequence of str, optional
        Default: those searched (``("HH", "HV")``).  Variables are their lower-case names.
    groupby : {"day", "pass"}
        Mosaic the scenes of one UTC day, or of one orbit pass (acquisitions less than
        30 minutes apart), into one time step.
    resampling : {"bilinear", "nearest"}
        From radar geometry to the grid (bilinear in linear power, no-data aware).
    denoise : bool
        Remove thermal noise (keep True for EW HV).
    amsr2 : bool
        Load the AMSR-2 items (False: Sentinel-1 only, without a warning).
    amsr2_pass : {"DAY", "ASC", "DSC"}
        AMSR-2 daily average, ascending or descending passes.
    nodata_check : float or None
        Least fraction of valid cells inside the footprints, checked per chunk when it is
        computed ([`MostlyNodataError`][xseaice.exceptions.MostlyNodataError]); None disables it.
    patch_url : callable, optional
        ``href -> href`` applied just before each read (e.g. signing); default: the
        signing of the catalog the items came from.
    retries : int
        Retries of a failing read before [`AssetReadError`][xseaice.exceptions.AssetReadError].
    timeout : float
        Seconds allowed for the reads of each task at compute time (an item's annotation
        files, a chunk's measurement windows, an AMSR-2 file), retries included; each
        connection and wait for bytes gets at most the time left.  A task that runs out
        of it raises [`AssetReadError`][xseaice.exceptions.AssetReadError] naming the
        host and the timeout.  (The load is lazy and a large scene legitimately takes
        longer than any one task, so the bound is per task, not per ``compute()``.)
    bands : sequence of str, optional
        Assets of the geocoded items among ``result_or_items`` (neither Sentinel-1 nor
        AMSR-2) to load through `odc.stac.load` onto the same grid, as variables of
        the same names (see [`xseaice.stac.geocoded`][]).  Without ``bands`` such items
        are refused.

    Returns
    -------
    xarray.Dataset
        Lazy (dask) float32 variables ``hh``, ``hv``, ``incidence_angle`` and, when AMSR-2
        is available, ``tb18h``, ``tb18v``, ``tb36h``, ``tb36v``; dims ``(time, y, x)``;
        a ``spatial_ref`` coordinate (``.rio`` / ``.odc``); CF attributes from
        `xseaice.variables.ATTRS`.  Building it reads nothing.

    Raises
    ------
    EmptySearchError
        If there is no Sentinel-1 item.
    LoadError
        If an item lacks the assets of a requested polarisation or its annotation.
    CRSError
        If ``crs`` is mistyped or geographic.
    InvalidArgumentError
        For other invalid options.

    Warns
    -----
    MissingSensorWarning
        If AMSR-2 is missing for all (variables dropped) or some (NaN) time steps.

    Notes
    -----
    At compute time a failing read is retried ``retries`` times, then raises
    [`AssetReadError`][xseaice.exceptions.AssetReadError] naming the asset (URL without its query
    string); a chunk with mostly no data inside the footprints raises
    [`MostlyNodataError`][xseaice.exceptions.MostlyNodataError].

    Examples
    --------
    >>> ds = xseaice.load(xseaice.search(bbox, "2023-01-04"))  # doctest: +SKIP
    >>> ds.hh.isel(time=0).plot()  # doctest: +SKIP
    """
    _check_options(groupby, resampling, nodata_check, retries, timeout)
    inputs = _collect(result_or_items, patch_url, geocoded=bands is not None)
    if not inputs.s1:
        raise EmptySearchError(
            "there is no Sentinel-1 item to load; search with sensors including "
            "'sentinel-1' (xseaice.search(bbox, datetime)) and check that it found scenes."
        )
    pols = _polarizations(polarizations, inputs.polarizations)
    crop = geobox is None and bbox is None and inputs.bbox is not None
    geobox = resolve_geobox(
        geobox,
        crs=crs,
        bbox=bbox if bbox is not None else inputs.bbox,
        items=inputs.s1,
        resolution=resolution,
    )
    if crop:  # a rotated swath fills a fraction of the searched lon/lat box
        geobox = crop_to_footprints(geobox, inputs.s1, margin=FOOTPRINT_MARGIN_M)
    _check_coverage(geobox, inputs.s1)
    layout = ChunkLayout.of(geobox, chunks)
    groups = group_items(inputs.s1, groupby)
    looks = multilook_factor(inputs.s1, abs(float(geobox.resolution.x)))
    options = S1Options(resampling, denoise, nodata_check, retries, timeout, looks)
    stack, token, covered = s1_stack(
        inputs.s1, groups, layout, pols, sign=inputs.sign.get("sentinel-1"), options=options
    )
    data_vars: dict[str, Any] = {pol.lower(): stack[:, k] for k, pol in enumerate(pols)}
    data_vars["incidence_angle"] = stack[:, len(pols)]
    amsr_used: list[str] = []
    if amsr2:
        amsr_stack, amsr_used = amsr2_stack(
            inputs.amsr2, groups, layout, sign=inputs.sign.get("amsr2"), pass_=amsr2_pass,
            token=token, covered=covered, timeout=timeout,
        )  # fmt: skip
        if amsr_stack is not None:
            data_vars.update({v: amsr_stack[:, k] for k, v in enumerate(AMSR2_VARIABLES)})
    ds = _dataset(data_vars, groups, geobox)
    if bands is not None:
        ds = _add_geocoded(ds, inputs, bands, layout, resampling)
    ds.attrs.update(
        {
            "title": "Sentinel-1 SAR and AMSR-2 scene (xseaice.load)",
            "sentinel1_items": " ".join(it.id for _, g in groups for it in g),
            "amsr2_items": " ".join(amsr_used),
            "polarizations": "+".join(pols),
            "resampling": resampling,
            "thermal_noise_removed": int(bool(denoise)),
            "crs": f"EPSG:{geobox.crs.epsg}" if geobox.crs.epsg else geobox.crs.to_wkt(),
        }
    )
    enl = multilook_enl(inputs.s1, looks)
    for pol in pols:
        ds[pol.lower()].attrs["multilook"] = f"{looks}x{looks} radar pixels (linear power)"
        if enl is not None:
            ds[pol.lower()].attrs["equivalent_number_of_looks"] = enl
    logger.info(
        "built %d time step(s) on a %dx%d grid, %d task(s)",
        len(groups), geobox.shape[0], geobox.shape[1], len(ds.__dask_graph__()),
    )  # fmt: skip
    return ds


def _check_options(
    groupby: str, resampling: str, nodata_check: Any, retries: Any, timeout: Any
) -> None:
    if groupby not in ("day", "pass"):
        raise InvalidArgumentError(f"groupby={groupby!r}; expected 'day' or 'pass'.")
    if resampling not in ("bilinear", "nearest"):
        raise InvalidArgumentError(f"resampling={resampling!r}; expected 'bilinear' or 'nearest'.")
    if nodata_check is not None and not 0 <= nodata_check <= 1:
        raise InvalidArgumentError(
            f"nodata_check={nodata_check!r}; expected a fraction in [0, 1] or None."
        )
    if not isinstance(retries, int) or retries < 0:
        raise InvalidArgumentError(f"retries={retries!r}; expected a non-negative integer.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgumentError(
            f"timeout={timeout!r}; expected a positive number of seconds, e.g. 60."
        )


def _polarizations(asked: Any, searched: tuple[str, ...] | None) -> tuple[str, ...]:
    pols = tuple(p.upper() for p in (asked or searched or ("HH", "HV")))
    if isinstance(asked, str):
        pols = (asked.upper(),)
    for p in pols:
        if p not in ("HH", "HV", "VV", "VH"):
            raise InvalidArgumentError(f"polarizations has {p!r}; expected HH, HV, VV or VH.")
    return pols


def _dataset(
    data_vars: Mapping[str, Any], groups: Sequence[tuple[np.datetime64, list[Any]]], geobox: Any
) -> xr.Dataset:
    """The scene dataset around the stacks: CF attributes, time and grid coordinates."""
    import xarray as xr
    from odc.geo.xr import xr_coords

    coords = xr_coords(geobox, crs_coord_name="spatial_ref")
    times = np.array([t for t, _ in groups], dtype="datetime64[ns]")
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {
            v: xr.DataArray(
                arr, dims=dims, attrs={**ATTRS.get(v, pol_attrs(v)), "grid_mapping": "spatial_ref"}
            )
            for v, arr in data_vars.items()
        },
        coords={"time": times, **coords},
    )
    ds["time"].attrs.update(
        {"standard_name": "time", "long_name": "acquisition time (first scene)"}
    )
    return ds


def _add_geocoded(
    ds: xr.Dataset, inputs: _Inputs, bands: Sequence[str], layout: Any, resampling: str
) -> xr.Dataset:
    from xseaice.stac.geocoded import load_geocoded

    if not inputs.other:
        raise InvalidArgumentError(
            f"bands={list(bands)!r} but there is no geocoded item (neither Sentinel-1 nor "
            "AMSR-2) among result_or_items; pass the items that hold those assets."
        )
    extra = load_geocoded(
        inputs.other,
        bands,
        layout,
        times=ds["time"].values,
        resampling=resampling,
        patch_url=inputs.sign.get("other"),
    )
    clash = sorted(str(v) for v in set(extra.data_vars) & set(ds.data_vars))
    if clash:
        raise InvalidArgumentError(
            f"bands {clash} clash with the Sentinel-1/AMSR-2 variables; rename the assets."
        )
    return ds.assign(extra.data_vars)


_SEARCH_KEYS = ("catalog", "mode", "sensors", "max_items", "collections")


def open_scene(bbox: Any, datetime: Any, **kwargs: Any) -> xr.Dataset:
    """Search and load in one call: ``load(search(bbox, datetime, ...), bbox=bbox, ...)``.

    Parameters
    ----------
    bbox : (west, south, east, north)
        Degrees.
    datetime : str, datetime or (start, end)
        See [`xseaice.search`][xseaice.stac.searching.search].
    **kwargs
        ``catalog``, ``mode``, ``polarizations``, ``sensors``, ``max_items`` and
        ``collections`` go to [`xseaice.search`][xseaice.stac.searching.search] (``polarizations``
        and ``timeout`` to both); every
        other keyword goes to [`load`][xseaice.stac.loading.load].

    Returns
    -------
    xarray.Dataset
        The lazy scene dataset.

    Examples
    --------
    >>> bbox = xseaice.stac.catalogs.embedded_sample()["bbox"]  # doctest: +SKIP
    >>> ds = xseaice.open_scene(bbox, "2023-01-04", catalog="embedded")  # doctest: +SKIP
    """
    _check_keywords(kwargs)
    search_kw = {k: kwargs.pop(k) for k in _SEARCH_KEYS if k in kwargs}
    for shared in ("polarizations", "timeout"):
        if shared in kwargs:
            search_kw[shared] = kwargs[shared]
    result = search(bbox, datetime, **search_kw)
    kwargs.setdefault("bbox", bbox)
    return load(result, **kwargs)


def _check_keywords(kwargs: dict[str, Any]) -> None:
    """Name a misspelled keyword of [`open_scene`][xseaice.stac.loading.open_scene] before anything
    is searched."""
    import difflib
    import inspect

    valid = set(_SEARCH_KEYS) | {"timeout"}
    params = inspect.signature(load).parameters.values()
    valid |= {p.name for p in params if p.kind is p.KEYWORD_ONLY}
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        hints = {k: difflib.get_close_matches(k, sorted(valid), n=1) for k in unknown}
        did = "; ".join(f"{k!r}: did you mean {m[0]!r}?" for k, m in hints.items() if m)
        raise InvalidArgumentError(
            f"open_scene() got unknown keyword(s) {unknown}"
            + (f" ({did})" if did else "")
            + f"; valid keywords: {sorted(valid)}."
        )


def _check_coverage(geobox: Any, items: list[Any]) -> None:
    """Raise when the grid meets no Sentinel-1 footprint (a bbox beside the items)."""
    from xseaice.stac.items import item_footprint

    feet = [f for f in (item_footprint(it) for it in items) if f is not None]
    if not feet:
        return
    try:
        area = geobox.extent.to_crs("EPSG:4326").geom
    except Exception:  # a grid that cannot be shown in lon/lat: nothing to compare
        return
    if not any(area.intersects(f) for f in feet):
        b = tuple(round(v, 3) for v in area.bounds)
        ids = ", ".join(it.id for it in items[:3])
        raise LoadError(
            f"the requested grid (lon/lat bounds {b}) does not meet the footprint of any "
            f"Sentinel-1 item ({ids}{' ...' if len(items) > 3 else ''}); every SAR pixel "
            "would be NaN. Pass a bbox/geobox over the items, or search that place."
        )
