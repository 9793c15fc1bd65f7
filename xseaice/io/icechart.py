"""Operational ice charts: reading SIGRID-3 charts and rasterizing them onto a grid.

[`read_icechart`][xseaice.io.icechart.read_icechart] reads a SIGRID-3 chart (shapefile, GeoPackage,
GeoJSON, an AI4Arctic ``polygon_codes`` table or netCDF) and decodes its egg codes with
[`xseaice.io.sigrid3`][] into numbers (``ct``, ``ct_low``, ``ct_high``, partials) and the
AutoICE classes (``sic_class``, ``sod_class``, ``floe_class``);
[`rasterize_chart`][xseaice.io.icechart.rasterize_chart] burns them onto a GeoBox or a dataset's
grid.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xseaice.exceptions import IceChartError, InvalidArgumentError
from xseaice.io.autoice import autoice_classes
from xseaice.io.sigrid3 import (
    AI4ARCTIC_HEADER,
    CODE_FIELDS,
    OUTPUT_COLUMNS,
    Convention,
    check_convention,
    concentration_bounds,
    decode_concentration,
    decode_form,
    decode_stage,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

__all__ = ["rasterize_chart", "read_icechart"]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------
# reading charts
# ---------------------------------------------------------------------------------------


def _field_map(columns: Iterable[Any]) -> dict[str, str]:
    """Canonical SIGRID-3 field name -> actual column, case-insensitive, E_ prefix allowed."""
    found: dict[str, str] = {}
    wanted = (*CODE_FIELDS, "POLY_TYPE", "CN", "CD", "CF")
    for name in columns:
        if not isinstance(name, str):
            continue
        key = name.strip().upper()
        if key.startswith("E_") and key[2:] in wanted:
            key = key[2:]
            found.setdefault(key, name)  # plain name wins over E_ alias
            continue
        if key in wanted:
            found[key] = name
    return found


def _parse_polygon_codes(codes: Any) -> pd.DataFrame:
    """AI4Arctic ``polygon_codes`` (one string, or a sequence of row strings) -> DataFrame."""
    if isinstance(codes, bytes):
        codes = codes.decode()
    if isinstance(codes, str):
        rows = [r for r in codes.replace("\r", "\n").split("\n") if r.strip()]
    else:
        rows = [r.decode() if isinstance(r, bytes) else str(r) for r in np.ravel(codes)]
        rows = [r for r in rows if r.strip()]
    if not rows:
        raise IceChartError("polygon_codes is empty; expected 'id;CT;CA;SA;FA;...' rows.")
    first = [t.strip() for t in rows[0].split(";")]
    if first[0].lower() in ("id", "poly_id", "polygon_id"):
        header = [("id" if i == 0 else t.upper()) for i, t in enumerate(first)]
        rows = rows[1:]
    else:
        header = list(AI4ARCTIC_HEADER[: len(first)])
    data = []
    for r in rows:
        parts = [t.strip() for t in r.split(";")]
        if len(parts) != len(header):
            raise IceChartError(
                f"polygon_codes row {r!r} has {len(parts)} fields but the header has "
                f"{len(header)} ({';'.join(header)}); expected one value per header field."
            )
        data.append(parts)
    frame = pd.DataFrame(data, columns=header)
    try:
        frame["id"] = frame["id"].astype("int64")
    except ValueError:
        raise IceChartError("polygon_codes ids must be integers (first field).") from None
    return frame.set_index("id", drop=False).rename_axis(None)


def _looks_like_codes(obj: Any) -> bool:
    if isinstance(obj, bytes):
        obj = obj.decode(errors="replace")
    if isinstance(obj, str):
        return ";" in obj and not os.path.exists(obj)
    if isinstance(obj, (list, tuple, np.ndarray)) and len(obj) > 0:
        first = np.ravel(obj)[0]
        return isinstance(first, (str, bytes)) and (
            ";" in (first.decode() if isinstance(first, bytes) else first)
        )
    return False


def _polygonize(polygon_icechart: Any, ids: Sequence[int]) -> tuple[list[Any], Any]:
    """Geometries of each polygon id from an AI4Arctic ``polygon_icechart`` raster."""
    import rasterio.features
    import shapely.geometry
    from affine import Affine
    from shapely.ops import unary_union

    arr = np.asarray(polygon_icechart)
    transform, crs = Affine.identity(), None
    if hasattr(polygon_icechart, "rio"):
        try:
            if polygon_icechart.rio.crs is not None:
                crs = polygon_icechart.rio.crs
                transform = polygon_icechart.rio.transform()
        except Exception:  # pragma: no cover - pixel geometry then
            logger.debug("polygon_icechart has no usable geotransform; pixel coordinates used")
    valid = np.isfinite(arr) if arr.dtype.kind == "f" else np.ones(arr.shape, bool)
    work = np.where(valid, arr, -1).astype("int32")
    parts: dict[int, list[Any]] = {}
    for geom, value in rasterio.features.shapes(work, mask=valid, transform=transform):
        parts.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    geoms = [unary_union(parts[i]) if i in parts else None for i in ids]
    return geoms, crs


def _read_ai4arctic_nc(path: Path) -> tuple[Any, Any]:
    import xarray as xr

    with xr.open_dataset(path) as ds:
        if "polygon_codes" not in ds.variables:
            raise IceChartError(
                f"{path} has no 'polygon_codes' variable; expected an AI4Arctic raw scene "
                "(netCDF with polygon_codes and polygon_icechart)."
            )
        codes = ds["polygon_codes"].values
        raster = ds["polygon_icechart"].load() if "polygon_icechart" in ds.variables else None
    return codes, raster


def read_icechart(
    path_or_codes: Any,
    *,
    convention: Convention = "sigrid3",
    layer: str | int | None = None,
    polygon_icechart: Any = None,
    errors: str = "coerce",
) -> gpd.GeoDataFrame:
    """Read a SIGRID-3 ice chart and decode its egg codes into numbers and AutoICE classes.

    Parameters
    ----------
    path_or_codes : str, os.PathLike, GeoDataFrame, DataFrame or str of codes
        A SIGRID-3 shapefile, GeoPackage, GeoJSON (or a zip of them; anything
        ``geopandas.read_file`` opens), an AI4Arctic raw-scene netCDF (its
        ``polygon_codes`` and ``polygon_icechart``), an AI4Arctic ``polygon_codes`` table
        (one ``"id;CT;CA;...\\n..."`` string or a sequence of row strings), or an already
        loaded (Geo)DataFrame.  Field names are matched case-insensitively and a CIS ``E_``
        prefix (``E_CT``) is accepted.
    convention : {"sigrid3", "ai4arctic"}
        How concentration codes become numbers (module documentation).
    layer : str or int, optional
        Layer of a multi-layer file (GeoPackage); by default the first layer.
    polygon_icechart : xarray.DataArray or numpy.ndarray, optional
        With a ``polygon_codes`` table: the raster of polygon ids, polygonised to give each
        row a geometry (georeferenced if the array carries a ``.rio`` CRS, else in pixel
        coordinates ``(column, row)``).
    errors : {"coerce", "raise"}
        What to do with a code that is not SIGRID-3 (see
        [`decode_concentration`][xseaice.io.sigrid3.decode_concentration]).

    Returns
    -------
    geopandas.GeoDataFrame
        The input rows and columns (and CRS) plus ``ct``, ``ct_low``, ``ct_high``,
        ``ca``, ``cb``, ``cc`` (float 0-1, NaN missing; ``ca`` equals ``ct`` where only one
        ice type is reported), ``sa``, ``sb``, ``sc``, ``fa``, ``fb``, ``fc`` (int16 codes,
        -1 missing), ``sic_class``, ``sod_class``, ``floe_class`` (uint8 AutoICE classes,
        255 undefined) and ``poly_type`` (``I``, ``W``, ``L``, ``S``, ``N``).  Water
        polygons without ``CT`` get ``ct = 0``.  An input column whose name equals an
        output column (e.g. a lower-case ``ct`` code field) is renamed to upper case.
        From a ``polygon_codes`` table, the index is the polygon id.

    Raises
    ------
    IceChartError
        If the file cannot be read or has no ``CT`` field.

    Examples
    --------
    >>> chart = read_icechart("id;CT;CA;SA;FA;CB;SB;FB;CC;SC;FC;CN;CD;CF;POLY_TYPE\\n"
    ...                       "1;92;-9;93; 5;-9;-9;-9;-9;-9;-9;-9;-9;-9;I")
    >>> float(chart["ct"].iloc[0]), int(chart["sod_class"].iloc[0])
    (1.0, 4)
    """
    import geopandas as gpd

    check_convention(convention)
    frame: pd.DataFrame
    if isinstance(path_or_codes, pd.DataFrame):
        frame = path_or_codes.copy()
    elif _looks_like_codes(path_or_codes):
        frame = _parse_polygon_codes(path_or_codes)
    elif isinstance(path_or_codes, (str, os.PathLike)):
        path = Path(path_or_codes)
        if not path.exists() and "://" not in str(path_or_codes):
            raise IceChartError(
                f"path_or_codes={str(path_or_codes)!r} does not exist; expected a SIGRID-3 "
                "shapefile / GeoPackage / GeoJSON, an AI4Arctic netCDF or a polygon_codes "
                "string."
            )
        if path.suffix.lower() in (".nc", ".nc4", ".h5"):
            codes, raster = _read_ai4arctic_nc(path)
            frame = _parse_polygon_codes(codes)
            if polygon_icechart is None:
                polygon_icechart = raster
        else:
            try:
                frame = gpd.read_file(path_or_codes, layer=layer)
            except Exception as exc:
                raise IceChartError(
                    f"could not read the ice chart {str(path_or_codes)!r} (layer={layer!r}): "
                    f"{exc}. Expected a vector file that geopandas/pyogrio can open."
                ) from exc
    else:
        raise IceChartError(
            f"path_or_codes of type {type(path_or_codes).__name__} is not understood; "
            "expected a path, a (Geo)DataFrame or an AI4Arctic polygon_codes string."
        )

    if polygon_icechart is not None and not isinstance(frame, gpd.GeoDataFrame):
        geoms, crs = _polygonize(polygon_icechart, list(frame.index))
        frame = gpd.GeoDataFrame(frame, geometry=geoms, crs=crs)
    return _decode_frame(frame, convention=convention, errors=errors)


def _decode_frame(frame: pd.DataFrame, *, convention: Convention, errors: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    fields = _field_map(frame.columns)
    if "CT" not in fields:
        raise IceChartError(
            f"the ice chart has no CT (total concentration) field; its columns are "
            f"{[str(c) for c in frame.columns]}. Expected SIGRID-3 fields (CT, CA, SA, FA, ...); "
            "rename the total-concentration column to CT."
        )
    # do not clobber input columns that clash with the output names
    clash = {c: c.upper() for c in frame.columns if isinstance(c, str) and c in OUTPUT_COLUMNS}
    if clash:
        logger.info("renaming input columns %s to upper case", sorted(clash))
        frame = frame.rename(columns=clash)
        fields = _field_map(frame.columns)
    n = len(frame)

    def raw(name: str) -> np.ndarray:
        if name in fields:
            return frame[fields[name]].to_numpy(dtype=object)
        return np.full(n, None, dtype=object)

    ct_raw = raw("CT")
    ct = decode_concentration(ct_raw, convention=convention, errors=errors)
    low, high = concentration_bounds(ct_raw, errors=errors)
    if "POLY_TYPE" in fields:
        poly_type = np.array(
            [
                str(p).strip().upper() if isinstance(p, str) and p.strip() else "N"
                for p in raw("POLY_TYPE")
            ],
            dtype=object,
        )
    else:
        poly_type = np.where(np.isnan(ct), "N", np.where(ct > 0, "I", "W")).astype(object)
    water = (poly_type == "W") & np.isnan(ct)
    ct[water], low[water], high[water] = 0.0, 0.0, 0.0

    out = frame.copy()
    out["ct"] = ct
    out["ct_low"] = low
    out["ct_high"] = high
    for name in ("CA", "CB", "CC"):
        out[name.lower()] = decode_concentration(raw(name), convention=convention, errors=errors)
    single = np.isnan(out["ca"].to_numpy()) & (decode_stage(raw("SA"), errors=errors) >= 0)
    out.loc[single, "ca"] = ct[single]
    for name in ("SA", "SB", "SC"):
        out[name.lower()] = decode_stage(raw(name), errors=errors)
    for name in ("FA", "FB", "FC"):
        out[name.lower()] = decode_form(raw(name), errors=errors)
    sic, sod, floe = autoice_classes(
        ct_raw,
        raw("CA"),
        raw("CB"),
        raw("CC"),
        raw("SA"),
        raw("SB"),
        raw("SC"),
        raw("FA"),
        raw("FB"),
        raw("FC"),
        poly_type=poly_type,
    )
    out["sic_class"] = sic
    out["sod_class"] = sod
    out["floe_class"] = floe
    out["poly_type"] = poly_type.astype(str)
    if isinstance(out, gpd.GeoDataFrame):
        return out
    return gpd.GeoDataFrame(out, geometry=None)


# ---------------------------------------------------------------------------------------
# rasterization
# ---------------------------------------------------------------------------------------


def _geobox_of(like: Any) -> Any:
    from odc.geo.geobox import GeoBox

    if isinstance(like, GeoBox):
        return like
    import odc.geo.xr  # noqa: F401  (registers .odc)

    gbox = getattr(getattr(like, "odc", None), "geobox", None)
    if gbox is None:
        raise InvalidArgumentError(
            f"like of type {type(like).__name__} has no geobox; expected an odc.geo GeoBox or "
            "an xarray object with a CRS (a 'spatial_ref' coordinate, e.g. from "
            "xseaice.load or .odc.assign_crs)."
        )
    return gbox


def _quiet_rasterio() -> None:
    """Silence rasterio's spurious NotGeoreferencedWarning from its scratch dataset.

    ``rasterio.features.rasterize`` reads the transform of its in-memory dataset before
    setting it; ``warnings.catch_warnings`` is not thread-safe (dask runs blocks in
    threads), so one narrow process-wide filter is (re)installed instead; re-adding an
    identical filter replaces it, so this is idempotent.
    """
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    warnings.filterwarnings(
        "ignore",
        message="Dataset has no geotransform",
        category=NotGeoreferencedWarning,
        module=r"rasterio\.features",
    )


def _rasterize_ids(geoms: list[Any], ids: np.ndarray, gbox: Any, all_touched: bool) -> np.ndarray:
    import rasterio.features

    shape = tuple(gbox.shape)
    if not geoms:
        return np.zeros(shape, dtype="int32")
    _quiet_rasterio()
    return rasterio.features.rasterize(
        zip(geoms, ids.tolist(), strict=True),
        out_shape=shape,
        transform=gbox.transform,
        fill=0,
        dtype="int32",
        all_touched=all_touched,
    )


def rasterize_chart(
    chart: gpd.GeoDataFrame,
    like: Any,
    *,
    column: str | None = None,
    all_touched: bool = False,
) -> xr.DataArray:
    """Burn ice-chart polygons onto the grid of ``like``.

    Parameters
    ----------
    chart : geopandas.GeoDataFrame
        Polygons with a CRS (any; reprojected to the grid's CRS).
    like : xarray.DataArray, xarray.Dataset or odc.geo.geobox.GeoBox
        The target grid.  If ``like`` is dask-backed, the result is a lazy dask array with
        the same spatial chunks (each block rasterized on its own).
    column : str, optional
        If given, return this column's values (float32, NaN outside every polygon)
        instead of region ids.
    all_touched : bool
        Burn every pixel a polygon touches (``True``) or only those whose centre is inside.

    Returns
    -------
    xarray.DataArray
        dims ``(y, x)`` with a ``spatial_ref`` coordinate.  Without ``column``: int32
        region ids ``1..N`` where id ``k`` is the chart row at position ``k - 1``, and 0
        outside every polygon.

    Raises
    ------
    IceChartError
        If the chart has no CRS or ``column`` is not one of its columns.
    """
    import geopandas as gpd
    import odc.geo.xr  # noqa: F401
    import shapely
    from odc.geo import CRS
    from odc.geo.xr import wrap_xr

    if not isinstance(chart, gpd.GeoDataFrame) or chart._geometry_column_name not in chart:
        raise IceChartError(
            "chart has no geometry (an AI4Arctic polygon_codes table?); pass "
            "polygon_icechart= to read_icechart, or map the polygon_icechart raster ids "
            "through the table instead of rasterizing."
        )
    if chart.crs is None:
        raise IceChartError("chart has no CRS; set one with chart.set_crs(...) before rasterizing.")
    if column is not None and column not in chart.columns:
        raise IceChartError(
            f"column={column!r} is not a column of the chart; available: {list(chart.columns)}."
        )
    gbox = _geobox_of(like)
    target = chart if CRS(chart.crs) == gbox.crs else chart.to_crs(gbox.crs.to_wkt())
    geoms = np.asarray(target.geometry.values, dtype=object)
    ids = np.arange(1, len(target) + 1, dtype="int64")
    bbox = shapely.box(*gbox.extent.boundingbox)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    keep = np.zeros(len(geoms), dtype=bool)
    if ok.any():
        keep[ok] = shapely.intersects(geoms[ok], bbox)
    geoms_k, ids_k = list(geoms[keep]), ids[keep]

    chunks = _spatial_chunks(like)
    if chunks is None:
        data: Any = _rasterize_ids(geoms_k, ids_k, gbox, all_touched)
    else:
        import dask.array as da

        def block(block_info: Any = None) -> np.ndarray:
            (y0, y1), (x0, x1) = block_info[None]["array-location"]
            sub = gbox[y0:y1, x0:x1]
            return _rasterize_ids(geoms_k, ids_k, sub, all_touched)

        data = da.map_blocks(block, chunks=chunks, dtype="int32", meta=np.empty((0, 0), "int32"))

    if column is None:
        out = wrap_xr(data, gbox)
        out.name = "region_id"
        out.attrs.update(
            long_name="ice chart polygon id (chart row position + 1)", nodata=0, units="1"
        )
        return out
    values = pd.to_numeric(chart[column], errors="coerce").to_numpy(dtype="float64")
    lut = np.concatenate([[np.nan], values]).astype("float32")
    mapped = lut[data] if chunks is None else data.map_blocks(lambda b: lut[b], dtype="float32")
    out = wrap_xr(mapped, gbox)
    out.name = str(column)
    out.attrs.update(long_name=f"ice chart {column}")
    return out


def _spatial_chunks(like: Any) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(y chunks, x chunks) of a dask-backed ``like``, else None."""
    try:
        chunks = getattr(like, "chunksizes", None)
    except ValueError:  # a Dataset whose variables disagree on chunks
        return None
    if not chunks:
        return None
    try:
        from odc.geo.xr import spatial_dims

        ydim, xdim = spatial_dims(like, relaxed=True) or ("y", "x")
    except Exception:  # pragma: no cover
        ydim, xdim = "y", "x"
    if ydim in chunks and xdim in chunks:
        return tuple(chunks[ydim]), tuple(chunks[xdim])
    return None
