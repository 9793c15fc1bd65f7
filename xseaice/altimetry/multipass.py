"""Multi-pass elevation maps: several SAR scenes and altimeter passes linked by ice drift.

Two ways to combine, both using *all* the altimeter passes, moved to the reference
scene's time by the drift field (`xseaice.altimetry.densify` with ``drift=``):

* ``"evidence"`` (default): the SAR looks are moved onto the reference scene (DRIFT's
  [`xseaice.sar.warp.warp`][]) and averaged in linear power, which averages out speckle
  and wind before one densification;
* ``"maps"``: each look is densified on its own, the maps are moved to the reference
  time and averaged with inverse-variance weights
  ([`combine_maps`][xseaice.altimetry.multipass.combine_maps]).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import xarray as xr

from xseaice.altimetry.densify import densify
from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["combine_maps", "densify_passes", "mean_evidence"]

logger = logging.getLogger(__name__)


def combine_maps(maps: Sequence[xr.DataArray], *, correlation: float = 0.5) -> xr.DataArray:
    """Inverse-variance weighted mean of densified maps on one grid and time.

    Parameters
    ----------
    maps : sequence of xarray.DataArray
        Outputs of `densify` (each with its ``uncertainty``
        coordinate), already on the same grid.
    correlation : float
        Assumed correlation of the maps' errors (they share altimeter points and ice):
        the combined variance is ``w' C w`` with ``C_ij = rho s_i s_j``; 0 would claim
        independent errors and understate the uncertainty.

    Returns
    -------
    xarray.DataArray
        The combined map with its ``uncertainty``; pixels where every input is NaN stay NaN.

    Raises
    ------
    InvalidArgumentError
        For an empty list, maps on different grids, or a correlation outside [0, 1].
    """
    if not maps:
        raise InvalidArgumentError("maps must hold at least one densified DataArray")
    if not 0.0 <= correlation <= 1.0:
        raise InvalidArgumentError(f"correlation must be in [0, 1]; got {correlation!r}")
    first = maps[0]
    for m in maps[1:]:
        if m.shape != first.shape or not np.array_equal(m["x"].values, first["x"].values):
            raise InvalidArgumentError(
                "maps must share one grid; warp them onto the reference scene first "
                "(xseaice.sar.warp.warp)"
            )
    mean = np.stack([np.asarray(m.values, dtype=np.float64) for m in maps])
    std = np.stack([np.asarray(m["uncertainty"].values, dtype=np.float64) for m in maps])
    valid = np.isfinite(mean) & np.isfinite(std)
    exact = valid & (std == 0)  # e.g. freeboard on leads: known exactly
    w = np.where(valid, 1.0 / np.maximum(std, 1e-6) ** 2, 0.0)
    w = np.where(exact.any(axis=0), exact.astype(np.float64), w)
    wsum = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = w / wsum
        out = np.where(wsum > 0, (w * np.nan_to_num(mean)).sum(axis=0), np.nan)
    s = np.nan_to_num(std) * w
    var = (1.0 - correlation) * (s**2).sum(axis=0) + correlation * s.sum(axis=0) ** 2
    res = first.copy(data=out.astype(np.float32))
    res = res.assign_coords(
        uncertainty=(first["uncertainty"].dims, np.sqrt(var).astype(np.float32))
    )
    res.attrs = {**first.attrs, "method": "multi-pass", "n_maps": len(maps)}
    return res


def _time(scene: xr.Dataset) -> np.datetime64:
    return np.datetime64(np.asarray(scene["time"].values).reshape(-1)[0], "ns")


def mean_evidence(scenes: Sequence[xr.Dataset], drifts: Sequence[xr.Dataset | None]) -> xr.Dataset:
    """HH/HV of several looks on the first one's grid, averaged in linear power (dB out)."""
    looks = []
    for i, (scene, drift) in enumerate(zip(scenes, drifts, strict=True)):
        look = scene[["hh", "hv"]]
        if drift is not None and i > 0:
            from xseaice.sar.warp import warp

            look = cast(xr.Dataset, warp(look, drift, _time(scenes[0])))[["hh", "hv"]]
        if "time" in look.dims:
            look = look.isel(time=0, drop=True)
        looks.append(10.0 ** (look / 10.0))
    power = xr.concat(looks, dim="look").mean("look", skipna=True)
    out = scenes[0].copy()
    for name in ("hh", "hv"):
        db = cast(xr.DataArray, 10.0 * np.log10(power[name].clip(min=1e-12)))
        out[name] = db.expand_dims(time=out["time"].values) if "time" in out[name].dims else db
        out[name].attrs = scenes[0][name].attrs
    return out


def densify_passes(
    scenes: Sequence[xr.Dataset],
    points: gpd.GeoDataFrame,
    value: str = "freeboard",
    *,
    drifts: Sequence[xr.Dataset | None] | None = None,
    ice: Sequence[Any] | None = None,
    combine: Literal["evidence", "maps"] = "evidence",
    correlation: float = 0.5,
    **kwargs: Any,
) -> xr.DataArray:
    """One elevation map on ``scenes[0]`` from several SAR scenes and altimeter passes.

    Parameters
    ----------
    scenes : sequence of xarray.Dataset
        SAR scenes of the same ice; the first is the reference (grid and time).
    points : geopandas.GeoDataFrame
        All altimeter passes (any times).
    value : str
        Column to map.
    drifts : sequence of xarray.Dataset or None, optional
        ``drifts[i]``: ice drift from ``scenes[i]`` to ``scenes[0]``
        ([`xseaice.sar.drift.drift`][], ``time_a``/``time_b`` attributes); ``None`` entries (or
        no list) for scenes on the reference grid with negligible drift.  It moves the
        points to each scene's time and scene ``i``'s map to the reference time.
    ice : sequence, optional
        Floe/lead maps, one per scene (see [`densify`][xseaice.altimetry.densify.densify]);
        ``"evidence"`` uses the first.
    combine : {"evidence", "maps"}
        Average the SAR looks before densifying, or densify each and average the maps.
    correlation : float
        Error correlation between per-scene maps (``"maps"``,
        [`combine_maps`][xseaice.altimetry.multipass.combine_maps]).
    **kwargs
        Passed to [`densify`][xseaice.altimetry.densify.densify] (``method``, ``max_dt``, ...).

    Returns
    -------
    xarray.DataArray
        The combined map on the reference grid with its ``uncertainty``.

    Raises
    ------
    InvalidArgumentError
        If the lists have different lengths or ``combine`` is unknown.
    """
    if combine not in ("evidence", "maps"):
        raise InvalidArgumentError(f"combine must be 'evidence' or 'maps'; got {combine!r}")
    n = len(scenes)
    drifts = list(drifts) if drifts is not None else [None] * n
    ices = list(ice) if ice is not None else [None] * n
    if len(drifts) != n or len(ices) != n or n == 0:
        raise InvalidArgumentError(
            f"scenes ({n}), drifts ({len(drifts)}) and ice ({len(ices)}) must have the same, "
            "non-zero length"
        )
    if combine == "evidence":
        fb = densify(mean_evidence(scenes, drifts), points, value, ice=ices[0], **kwargs)
        fb.attrs.update(method="multi-pass (evidence)", n_looks=n)
        return fb
    maps = []
    for i, (scene, drift, ice_i) in enumerate(zip(scenes, drifts, ices, strict=True)):
        m = densify(scene, points, value, drift=drift, ice=ice_i, **kwargs)
        if i > 0 and drift is not None:
            from xseaice.sar.warp import warp

            pair = xr.Dataset({value: m.drop_vars("uncertainty"), "u": m["uncertainty"]})
            moved = warp(pair, drift, _time(scenes[0])).compute()
            m = moved[value].assign_coords(uncertainty=moved["u"]).assign_attrs(m.attrs)
        maps.append(m)
        logger.debug("multi-pass: scene %d densified from %d points", i, m.attrs.get("n_points", 0))
    return combine_maps(maps, correlation=correlation)
