"""What Analytical Logit Scaling applied to each ice-chart polygon, as table columns.

With ``preserve=chart``, [`xseaice.products.als.scale_logits`][] gives every chart polygon its
own bias (or keeps the scene's).  [`scale_to_chart`][xseaice.products.als_applied.scale_to_chart]
returns the probability together with those per-polygon parameters, and
[`als_columns`][xseaice.products.als_applied.als_columns] puts them beside the statistics of
[`xseaice.products.zonal.concentration`][], so the written GeoPackage / GeoParquet tables say,
polygon by polygon, how the probability was made:

``als_bias``, ``als_temperature``
    ``b`` and ``T`` of ``p = sigmoid((z - b) / T)`` in the polygon (``z``: the logit).
``als_low``, ``als_high``
    The ice fractions the chart accepts: its code's range widened by the tolerance.
``als_target``
    The ice fraction (valid pixels with ``p >= 0.5`` among those whose centres lie in the
    polygon) the polygon was scaled to: the nearest bound when it was moved, its own
    fraction at the scene bias when kept (for a single-value interval, ``tolerance=0``:
    that value, reached as ``floor(f n + 0.5)`` of ``n`` pixels).
``als_status``
    ``kept``, ``raised``, ``lowered``, ``no_pixels``, ``no_concentration`` or
    ``no_contrast`` (``xseaice.products.als_regions.STATUS_MEANINGS``).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.products.als_regions import STATUS_MEANINGS

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["ALS_COLUMNS", "als_columns", "scale_to_chart"]

ALS_COLUMNS: tuple[str, ...] = (
    "als_bias",
    "als_temperature",
    "als_low",
    "als_high",
    "als_target",
    "als_status",
)
"""The per-polygon columns [`als_columns`][xseaice.products.als_applied.als_columns] adds."""


def scale_to_chart(logits: xr.DataArray, chart: gpd.GeoDataFrame, **options: Any) -> xr.Dataset:
    """ALS with ``preserve=chart``, and the parameters it applied to each chart polygon.

    Parameters
    ----------
    logits : xarray.DataArray
        Ice logits, as for [`xseaice.products.als.scale_logits`][].
    chart : geopandas.GeoDataFrame
        The chart whose polygons' concentrations are kept (``preserve=chart``).
    **options
        Other keyword options of [`scale_logits`][xseaice.products.als.scale_logits]
        (``q``, ``tolerance``, ``column``, ``method``, ...).

    Returns
    -------
    xarray.Dataset
        ``ice_probability`` (exactly what ``scale_logits`` returns) and, on a ``polygon``
        dim in the chart's row order (and ``time`` when the logits have one), the
        variables named in [`ALS_COLUMNS`][xseaice.products.als_applied.ALS_COLUMNS];
        lazy when the logits are dask-backed.

    Raises
    ------
    InvalidArgumentError
        ``preserve`` among ``options``, or any option ``scale_logits`` refuses.
    """
    from xseaice.products.als import _scale, scale_logits

    if "preserve" in options:
        raise InvalidArgumentError(
            "scale_to_chart() takes no preserve= (it is the chart); call "
            "scale_logits(preserve=...) for the other modes."
        )
    try:
        bound = inspect.signature(scale_logits).bind(logits, preserve=chart, **options)
    except TypeError as err:
        raise InvalidArgumentError(f"scale_to_chart(): {err}; see scale_logits().") from err
    bound.apply_defaults()
    prob, polygons = _scale(**bound.arguments)
    assert polygons is not None  # a GeoDataFrame always gives the per-polygon parameters
    return xr.merge([prob.to_dataset(name="ice_probability"), polygons], combine_attrs="override")


def als_columns(
    table: gpd.GeoDataFrame, parameters: xr.Dataset, *, time_index: int = 0
) -> gpd.GeoDataFrame:
    """The per-polygon table with the ALS parameters applied to each polygon added.

    Parameters
    ----------
    table : geopandas.GeoDataFrame
        One row per chart polygon in the chart's order, e.g.
        [`xseaice.products.zonal.concentration`][] of the map and the chart it was scaled to.
    parameters : xarray.Dataset
        The ``als_*`` variables of [`scale_to_chart`][xseaice.products.als_applied.scale_to_chart]
        (or of the products of [`xseaice.workflow.map_ice`][] with ``preserve="chart"``,
        also as read back from the Zarr store).
    time_index : int, default 0
        Time step when the parameters have a ``time`` dim.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``table`` with the columns of
        [`ALS_COLUMNS`][xseaice.products.als_applied.ALS_COLUMNS] (``als_status`` as text).

    Raises
    ------
    InvalidArgumentError
        The parameters lack an ``als_*`` variable, or have another number of polygons
        than the table has rows.
    """
    missing = [c for c in ALS_COLUMNS if c not in parameters]
    if missing:
        raise InvalidArgumentError(
            f"parameters lack {missing}; expected the Dataset of scale_to_chart() (or map_ice "
            "products made with preserve='chart')."
        )
    if "time" in parameters.dims:
        parameters = parameters.isel(time=time_index)
    npoly = parameters.sizes.get("polygon", 0)
    if npoly != len(table):
        raise InvalidArgumentError(
            f"the parameters hold {npoly} polygons but the table has {len(table)} rows; "
            "pass the table of the chart the map was scaled to (same rows, same order)."
        )
    values = parameters[list(ALS_COLUMNS)].compute()
    out = table.copy()
    for name in ALS_COLUMNS[:-1]:
        out[name] = np.asarray(values[name].values, dtype="float64")
    codes = np.asarray(values["als_status"].values, dtype="int64")
    out["als_status"] = [STATUS_MEANINGS[c] for c in codes]
    return out
