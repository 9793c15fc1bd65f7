"""AMSR-2 Level-3 brightness temperatures on the NSIDC polar stereographic grids.

Where real AMSR-2 comes from
----------------------------
No public STAC catalog serves AMSR-2 as cloud-optimised GeoTIFFs.  The NSIDC DAAC
distributes *AMSR-E/AMSR2 Unified L3 Daily 12.5 km Brightness Temperatures, Sea Ice
Concentration, Motion & Snow Depth Polar Grids* (short name ``AU_SI12``, and ``AU_SI25``
at 25 km) as HDF-EOS5 files, e.g. ``AMSR_U2_L3_SeaIce12km_B04_20181008.he5``.  Find them
with NASA CMR (``https://cmr.earthdata.nasa.gov/search/granules.json?short_name=AU_SI12``)
or CMR-STAC (``https://cmr.earthdata.nasa.gov/stac/NSIDC_ECS``, collection
``AU_SI12.v1``); ``xseaice.search(..., catalog="cmr")`` does that.

Downloads need a (free) NASA Earthdata login.  Authenticate in one of two ways, never by
putting credentials in code, URLs, attributes or logs:

* a ``~/.netrc`` entry ``machine urs.earthdata.nasa.gov login <user> password <pass>``
  (``chmod 600``), which ``earthaccess``, GDAL, ``fsspec``/``aiohttp`` and ``curl -n`` use;
* a bearer token in the ``EARTHDATA_TOKEN`` environment variable (create one at
  ``https://urs.earthdata.nasa.gov/profile``); [`read_amsr2`][xseaice.io.amsr2.read_amsr2]
  sends it as an ``Authorization`` header to ``*.earthdata.nasa.gov`` hosts only, and it
  never appears in
  any message or output.

File layout (HDF-EOS5)
----------------------
``/HDFEOS/GRIDS/NpPolarGrid12km/Data Fields/SI_12km_NH_{06,10,18,23,36,89}{H,V}_{DAY,ASC,DSC}``
(``SpPolarGrid12km`` / ``SI_12km_SH_...`` in the south): 32-bit integers in 0.1 K with
``_FillValue`` 0 (``scale_factor``/``add_offset``/``_FillValue`` attributes are honoured
when present).  The grid is described in ``/HDFEOS INFORMATION/StructMetadata.0``
(``XDim``, ``YDim``, ``UpperLeftPointMtrs``, ``LowerRightMtrs`` = outer corners of the
grid, ``ProjParams``); it is read from there, with the NSIDC definitions as fallback:

=============  =======  =======  ========================  ==========================
grid           columns  rows     upper-left corner (m)     CRS
=============  =======  =======  ========================  ==========================
north 12.5 km  608      896      (-3 850 000, 5 850 000)   EPSG:3411 (Hughes 1980)
south 12.5 km  632      664      (-3 950 000, 4 350 000)   EPSG:3412 (Hughes 1980)
north 25 km    304      448      (-3 850 000, 5 850 000)   EPSG:3411
south 25 km    316      332      (-3 950 000, 4 350 000)   EPSG:3412
=============  =======  =======  ========================  ==========================

netCDF (CF) files and GeoTIFF/COG files (one band per channel, named by the band
descriptions) are read too; variable and band names are matched with
`NAME_TABLE`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xseaice.exceptions import AssetReadError, CRSError, InvalidArgumentError, LoadError
from xseaice.io.http import DEFAULT_TIMEOUT, HTTPStatusError, deadline, get_bytes
from xseaice.io.urls import earthdata_headers, redact_url
from xseaice.variables import ATTRS

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "NAME_TABLE",
    "NSIDC_GRIDS",
    "read_amsr2",
]

logger = logging.getLogger(__name__)

Pass = Literal["DAY", "ASC", "DSC"]

#: NSIDC polar stereographic grids: (columns, rows, upper-left x, upper-left y, EPSG).
NSIDC_GRIDS: dict[str, tuple[int, int, float, float, int]] = {
    "NpPolarGrid12km": (608, 896, -3850000.0, 5850000.0, 3411),
    "SpPolarGrid12km": (632, 664, -3950000.0, 4350000.0, 3412),
    "NpPolarGrid25km": (304, 448, -3850000.0, 5850000.0, 3411),
    "SpPolarGrid25km": (316, 332, -3950000.0, 4350000.0, 3412),
    "NpPolarGrid06km": (1216, 1792, -3850000.0, 5850000.0, 3411),
    "SpPolarGrid06km": (1264, 1328, -3950000.0, 4350000.0, 3412),
}

_FREQS = {
    "06": "6.9",
    "07": "7.3",
    "10": "10.7",
    "18": "18.7",
    "23": "23.8",
    "36": "36.5",
    "89": "89.0",
}

#: Variable / band names recognised for a channel in netCDF and GeoTIFF files (matched
#: case-insensitively; ``{f}`` is the two-digit channel, ``{F}`` the frequency with ``_``
#: for the dot (``18_7``), ``{p}`` the polarisation letter, ``{P}`` the pass).
NAME_TABLE: tuple[str, ...] = (
    "tb{f}{p}",  # xseaice contract: tb18h
    "tb{f}{p}_{P}",  # tb18h_day
    "tb_{f}{p}",  # tb_18h
    "tb_{F}{p}",  # tb_18_7h
    "btemp_{F}{p}",  # AI4Arctic: btemp_18_7h
    "{f}{p}",  # 18h
    "{F}{p}",  # 18_7h
    "si_12km_nh_{f}{p}_{P}",  # AU_SI12 names exported to netCDF
    "si_12km_sh_{f}{p}_{P}",
    "si_25km_nh_{f}{p}_{P}",
    "si_25km_sh_{f}{p}_{P}",
    "brightness_temperature_{f}{p}",
)

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _parse_channel(channel: str) -> tuple[str, str]:
    m = re.fullmatch(r"\s*(\d{1,2})(?:[._]\d)?\s*([HVhv])\s*", str(channel))
    if not m:
        raise InvalidArgumentError(
            f"channel {channel!r} is not understood; expected e.g. '18H', '36V', '89H'."
        )
    freq = f"{int(m.group(1)):02d}"
    if freq not in _FREQS:
        raise InvalidArgumentError(
            f"channel {channel!r}: frequency {freq} is not an AMSR-2 channel; expected one "
            f"of {sorted(_FREQS)} GHz (rounded down)."
        )
    return freq, m.group(2).upper()


def _var_name(freq: str, pol: str) -> str:
    return f"tb{freq}{pol.lower()}"


def _var_attrs(freq: str, pol: str) -> dict[str, Any]:
    name = _var_name(freq, pol)
    if name in ATTRS:
        return dict(ATTRS[name])
    return {
        "long_name": f"AMSR-2 brightness temperature {_FREQS[freq]} GHz {pol}-polarized",
        "standard_name": "brightness_temperature",
        "units": "K",
        "sensor": "AMSR2",
        "frequency_GHz": float(_FREQS[freq]),
        "polarization": pol,
    }


def _candidates(freq: str, pol: str, pass_: str) -> list[str]:
    fmt = {"f": freq, "F": _FREQS[freq].replace(".", "_"), "p": pol.lower(), "P": pass_.lower()}
    return [t.format(**fmt).lower() for t in NAME_TABLE]


def _safe_name(source: Any) -> str:
    if isinstance(source, str) and "://" in source[:16]:
        return redact_url(source)
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def _download(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """GET ``url`` (with an Earthdata bearer token for NASA hosts only), retrying faults.

    The token is dropped when a redirect leaves the host ([`xseaice.io.http.get_bytes`][]).
    """
    headers = earthdata_headers(url)
    try:
        return get_bytes(url, headers=headers, timeout=timeout)
    except HTTPStatusError as exc:
        if headers and exc.status in (401, 403):
            raise AssetReadError(
                f"{redact_url(url)} refused the Earthdata token (HTTP {exc.status}); check "
                "that EARTHDATA_TOKEN holds a valid, unexpired token."
            ) from None
        raise


@contextmanager
def _local_file(source: Any, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Path]:
    """A local path for ``source`` (path, URL, bytes or file object)."""
    if isinstance(source, (str, os.PathLike)) and "://" not in str(source)[:16]:
        path = Path(source)
        if not path.exists():
            raise AssetReadError(
                f"{str(path)!r} does not exist; expected an AMSR-2 HDF-EOS5, netCDF or "
                "GeoTIFF file."
            )
        yield path
        return
    if isinstance(source, str):
        with deadline(timeout):  # the whole download, retries included
            data = _download(source, timeout=timeout)
        suffix = Path(urllib.parse.urlsplit(source).path).suffix
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, suffix = bytes(source), ""
    elif hasattr(source, "read"):
        data, suffix = source.read(), ""
    else:
        raise InvalidArgumentError(
            f"path_or_url of type {type(source).__name__} is not understood; expected a "
            "path, a URL, bytes or a binary file object."
        )
    fd, name = tempfile.mkstemp(suffix=suffix or ".bin", prefix="xseaice-amsr2-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield Path(name)
    finally:
        os.unlink(name)


def _sniff(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(_HDF5_MAGIC):
        import h5py

        with h5py.File(path, "r") as f:
            return "hdfeos5" if "HDFEOS" in f and "GRIDS" in f["HDFEOS"] else "netcdf"
    if head[:3] == b"CDF":
        return "netcdf"
    if head[:4] in _TIFF_MAGIC:
        return "geotiff"
    raise LoadError(
        f"{path.name} is neither HDF5/HDF-EOS5, netCDF nor GeoTIFF (first bytes {head!r}); "
        "expected an AMSR-2 L3 file such as AU_SI12."
    )


def _date_from_name(name: str) -> np.datetime64 | None:
    m = re.search(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)", name)
    if not m:
        return None
    try:
        return np.datetime64(f"{m.group(1)}-{m.group(2)}-{m.group(3)}", "ns")
    except ValueError:
        return None


def _finish(
    data: Mapping[str, np.ndarray],
    gbox: Any,
    *,
    source: str,
    pass_: str,
    extra_attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    import xarray as xr
    from odc.geo.xr import xr_coords

    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    variables = {}
    for name, arr in data.items():
        freq, pol = name[2:4], name[4].upper()
        attrs = _var_attrs(freq, pol)
        attrs["grid_mapping"] = "spatial_ref"
        variables[name] = xr.DataArray(arr, dims=("y", "x"), coords=coords, attrs=attrs)
    ds = xr.Dataset(variables)
    date = _date_from_name(Path(urllib.parse.urlsplit(source).path).name)
    if date is not None:
        ds = ds.assign_coords(time=date)
    ds.attrs.update({"source": source, "sensor": "AMSR2", "pass": pass_, **dict(extra_attrs or {})})
    return ds


# ---------------------------------------------------------------------------------------
# HDF-EOS5
# ---------------------------------------------------------------------------------------


def _struct_metadata(f: Any) -> str:
    info = f.get("HDFEOS INFORMATION")
    if info is None or "StructMetadata.0" not in info:
        return ""
    raw = info["StructMetadata.0"][()]
    if isinstance(raw, np.ndarray):
        raw = raw.tobytes() if raw.dtype.kind in "SV" else raw.item()
    if isinstance(raw, bytes):
        raw = raw.split(b"\x00", 1)[0].decode("ascii", "replace")
    return str(raw)


def _grid_block(meta: str, grid_name: str) -> str:
    pattern = re.compile(r"GROUP=GRID_\d+(.*?)END_GROUP=GRID_\d+", re.S)
    for block in pattern.findall(meta):
        if re.search(rf'GridName="?{re.escape(grid_name)}"?\s', block):
            return str(block)
    return ""


def _dms(value: float) -> float:
    """GCTP packed DDDMMMSSS.SS angle to degrees."""
    sign = -1.0 if value < 0 else 1.0
    v = abs(value)
    deg = v // 1_000_000
    minutes = (v - deg * 1_000_000) // 1000
    seconds = v - deg * 1_000_000 - minutes * 1000
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)


def _crs_from_block(block: str, default_epsg: int | None) -> Any:
    """CRS of an HDF-EOS grid from its ``Projection`` and ``ProjParams``."""
    from odc.geo import CRS

    proj = re.search(r"Projection=(?:HE5_)?(\w+)", block)
    params = re.search(r"ProjParams=\(([^)]*)\)", block)
    if proj is None or params is None:
        if default_epsg is None:
            raise CRSError(
                "the HDF-EOS5 grid has no Projection/ProjParams and is not a known NSIDC "
                "grid; cannot tell its CRS."
            )
        return CRS(f"EPSG:{default_epsg}")
    if proj.group(1) != "GCTP_PS":
        raise CRSError(
            f"HDF-EOS5 projection {proj.group(1)} is not supported; expected (HE5_)GCTP_PS "
            "(polar stereographic) as in AU_SI12/AU_SI25."
        )
    p = [float(v) for v in params.group(1).split(",")]
    a, b_or_e2 = p[0], p[1]
    lon0, lat_ts = _dms(p[4]), _dms(p[5])
    hughes = abs(a - 6378273.0) < 1 and (abs(b_or_e2 + 0.006694) < 1e-5 or b_or_e2 == 0)
    if hughes and abs(lat_ts - 70) < 1e-6 and abs(lon0 + 45) < 1e-6:
        return CRS("EPSG:3411")
    if hughes and abs(lat_ts + 70) < 1e-6 and abs(lon0) < 1e-6:
        return CRS("EPSG:3412")
    lat0 = 90 if lat_ts >= 0 else -90
    if b_or_e2 < 0:
        ellps = f"+a={a} +es={-b_or_e2}"
    elif b_or_e2 == 0:
        ellps = f"+R={a}"
    else:
        ellps = f"+a={a} +b={b_or_e2}"
    return CRS(
        f"+proj=stere +lat_0={lat0} +lat_ts={lat_ts} +lon_0={lon0} {ellps} "
        f"+x_0={p[6]} +y_0={p[7]} +units=m +no_defs"
    )


def _read_hdfeos5(
    path: Path, channels: Sequence[tuple[str, str]], pass_: str
) -> tuple[dict[str, np.ndarray], Any, dict[str, Any]]:
    import h5py
    from affine import Affine
    from odc.geo.geobox import GeoBox

    with h5py.File(path, "r") as f:
        grids = f["HDFEOS/GRIDS"]
        names = list(grids)
        if not names:
            raise LoadError(f"{path.name} has no grid under /HDFEOS/GRIDS.")
        # prefer the known NSIDC grids in order; else the first
        grid_name = next((n for n in names if n in NSIDC_GRIDS), names[0])
        if len(names) > 1:
            logger.info("several HDF-EOS5 grids %s; reading %s", names, grid_name)
        fields = grids[grid_name].get("Data Fields")
        if fields is None:
            raise LoadError(f"{path.name}: grid {grid_name} has no 'Data Fields' group.")
        meta = _grid_block(_struct_metadata(f), grid_name)
        default = NSIDC_GRIDS.get(grid_name)
        data: dict[str, np.ndarray] = {}
        available = sorted(fields)
        for freq, pol in channels:
            want = re.compile(rf"^SI_\d+km_[NS]H_{freq}{pol}_{pass_}$", re.I)
            match = [n for n in available if want.match(n)]
            if not match:
                raise LoadError(
                    f"{path.name}: no field for channel {freq}{pol} pass {pass_} in "
                    f"{grid_name}/Data Fields; available: {available[:12]}"
                    f"{'...' if len(available) > 12 else ''}. Choose channels= and pass_= "
                    "among those."
                )
            dset = fields[match[0]]
            raw = dset[()]
            scale = float(np.ravel(dset.attrs.get("scale_factor", [0.1]))[0])
            offset = float(np.ravel(dset.attrs.get("add_offset", [0.0]))[0])
            fill = np.ravel(dset.attrs.get("_FillValue", [0]))[0]
            out = raw.astype("float32") * np.float32(scale) + np.float32(offset)
            out[raw == fill] = np.nan
            data[_var_name(freq, pol)] = out.astype("float32")
        shape = next(iter(data.values())).shape
        ny, nx = shape

    def _pair(key: str) -> tuple[float, float] | None:
        m = re.search(rf"{key}=\(\s*([-\d.eE+]+)\s*,\s*([-\d.eE+]+)\s*\)", meta)
        return (float(m.group(1)), float(m.group(2))) if m else None

    ul, lr = _pair("UpperLeftPointMtrs"), _pair("LowerRightMtrs")
    if ul is None or lr is None:
        if default is None:
            raise LoadError(
                f"{path.name}: StructMetadata.0 lacks UpperLeftPointMtrs/LowerRightMtrs and "
                f"{grid_name} is not a known NSIDC grid ({sorted(NSIDC_GRIDS)})."
            )
        cols, rows, ulx, uly, _ = default
        res = 12500.0 * (2 if "25km" in grid_name else 1) / (2 if "06km" in grid_name else 1)
        ul, lr = (ulx, uly), (ulx + cols * res, uly - rows * res)
        logger.info("no grid corners in StructMetadata; using the NSIDC %s definition", grid_name)
    xdim = re.search(r"XDim=(\d+)", meta)
    ydim = re.search(r"YDim=(\d+)", meta)
    if xdim and ydim and (int(ydim.group(1)), int(xdim.group(1))) != shape:
        raise LoadError(
            f"{path.name}: data fields are {shape} but StructMetadata says YDim={ydim.group(1)}, "
            f"XDim={xdim.group(1)}; the file is inconsistent."
        )
    rx = (lr[0] - ul[0]) / nx
    ry = (lr[1] - ul[1]) / ny
    crs = _crs_from_block(meta, default[4] if default else None)
    gbox = GeoBox((ny, nx), Affine(rx, 0.0, ul[0], 0.0, ry, ul[1]), crs)
    return data, gbox, {"grid_name": grid_name}


# ---------------------------------------------------------------------------------------
# netCDF and GeoTIFF
# ---------------------------------------------------------------------------------------


def _pick(names: Mapping[str, str], freq: str, pol: str, pass_: str, what: str, src: str) -> str:
    for cand in _candidates(freq, pol, pass_):
        if cand in names:
            return names[cand]
    raise LoadError(
        f"{src}: no {what} for channel {freq}{pol}; looked for {_candidates(freq, pol, pass_)[:6]}"
        f"... among {sorted(names.values())[:12]}. Rename it, or see xseaice.io.amsr2.NAME_TABLE."
    )


def _read_netcdf(
    path: Path, channels: Sequence[tuple[str, str]], pass_: str, src: str
) -> tuple[dict[str, np.ndarray], Any, dict[str, Any]]:
    import odc.geo.xr  # noqa: F401
    import rioxarray  # noqa: F401
    import xarray as xr

    with xr.open_dataset(path, decode_coords="all", mask_and_scale=True) as ds:
        names = {str(n).lower(): str(n) for n in ds.data_vars}
        picked = {_var_name(f, p): _pick(names, f, p, pass_, "variable", src) for f, p in channels}
        first = ds[next(iter(picked.values()))]
        crs = first.rio.crs or ds.rio.crs
        if crs is None:
            raise CRSError(
                f"{src}: the brightness temperatures have no CRS (no CF grid_mapping); "
                "expected projected x/y coordinates with a grid_mapping variable."
            )
        first = first.rio.write_crs(crs)
        gbox = first.odc.geobox
        if gbox is None:
            raise LoadError(f"{src}: cannot derive a regular grid from the x/y coordinates.")
        ydim, xdim = first.rio.y_dim, first.rio.x_dim
        flip = bool(first[ydim].values[0] < first[ydim].values[-1])
        data = {}
        for name, var in picked.items():
            arr = ds[var].squeeze(drop=True)
            if arr.ndim != 2:
                raise LoadError(f"{src}: variable {var} has dims {arr.dims}; expected (y, x).")
            arr = arr.transpose(ydim, xdim)
            if flip:
                arr = arr.isel({ydim: slice(None, None, -1)})
            values = np.asarray(arr.values, dtype="float32")
            data[name] = values
        if flip:
            first = first.isel({ydim: slice(None, None, -1)})
            gbox = first.odc.geobox
    return data, gbox, {}


def _read_geotiff(
    path: Path, channels: Sequence[tuple[str, str]], pass_: str, src: str
) -> tuple[dict[str, np.ndarray], Any, dict[str, Any]]:
    import rasterio
    from odc.geo import CRS
    from odc.geo.geobox import GeoBox

    with rasterio.open(path) as r:
        if r.crs is None:
            raise CRSError(f"{src}: the GeoTIFF has no CRS; expected a georeferenced COG.")
        descr = {}
        for i, d in enumerate(r.descriptions, start=1):
            label = d or r.tags(i).get("name") or r.tags(i).get("long_name")
            if label:
                descr[label.strip().lower()] = str(i)
        data = {}
        for f, p in channels:
            band = int(_pick(descr, f, p, pass_, "band description", src))
            raw = r.read(band, masked=True)
            scale = r.scales[band - 1] if r.scales else 1.0
            offset = r.offsets[band - 1] if r.offsets else 0.0
            values = raw.astype("float32").filled(np.nan) * np.float32(scale) + np.float32(offset)
            data[_var_name(f, p)] = values.astype("float32")
        gbox = GeoBox(r.shape, r.transform, CRS(r.crs.to_wkt()))
    return data, gbox, {}


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def read_amsr2(
    path_or_url: Any,
    *,
    channels: Sequence[str] = ("18H", "18V", "36H", "36V"),
    pass_: Pass = "DAY",
    timeout: float = DEFAULT_TIMEOUT,
) -> xr.Dataset:
    """Read AMSR-2 L3 brightness temperatures with their polar stereographic grid.

    Parameters
    ----------
    path_or_url : str, os.PathLike, bytes or file-like
        An AU_SI12/AU_SI25-like HDF-EOS5 file (``.he5``), a CF netCDF file with projected
        ``x``/``y`` and a ``grid_mapping``, or a GeoTIFF/COG with one band per channel
        (band descriptions such as ``tb18h``).  ``http(s)://`` URLs are downloaded with
        retries; for NASA Earthdata hosts a token in ``EARTHDATA_TOKEN`` is sent.
    channels : sequence of str
        Channels as ``"<GHz><pol>"``: ``"18H"``, ``"36V"``, ``"89H"``...
    pass_ : {"DAY", "ASC", "DSC"}
        Daily average, ascending or descending passes (HDF-EOS5 field suffix).
    timeout : float
        Seconds allowed for the whole download of a URL, retries included (each
        connection and wait for bytes gets at most the time left); a server that does
        not deliver in time raises [`AssetReadError`][xseaice.exceptions.AssetReadError]
        naming its host and the timeout.

    Returns
    -------
    xarray.Dataset
        Variables ``tb18h``, ``tb18v``, ``tb36h``, ``tb36v`` (one per channel; float32,
        K, NaN for fill) with dims ``(y, x)``, cell-centre coordinates in metres (``y``
        decreasing), a ``spatial_ref`` coordinate read by ``.rio`` and ``.odc``, CF
        attributes from `xseaice.variables.ATTRS`, and a scalar ``time`` coordinate
        when the file name holds a ``YYYYMMDD`` date.

    Raises
    ------
    LoadError
        If the file lacks a requested channel or is not an AMSR-2 L3 file.
    CRSError
        If the grid's CRS cannot be determined.
    AssetReadError
        If the file cannot be read or downloaded (within ``timeout``).
    InvalidArgumentError
        For an unknown ``pass_``, empty ``channels`` or a non-positive ``timeout``.

    Examples
    --------
    >>> ds = read_amsr2("AMSR_U2_L3_SeaIce12km_B04_20181008.he5")  # doctest: +SKIP
    >>> ds.tb36v.odc.geobox.crs  # doctest: +SKIP
    CRS('EPSG:3411')
    """
    if pass_ not in ("DAY", "ASC", "DSC"):
        raise InvalidArgumentError(f"pass_={pass_!r}; expected 'DAY', 'ASC' or 'DSC'.")
    if isinstance(channels, str):
        channels = (channels,)
    parsed = [_parse_channel(c) for c in channels]
    if not parsed:
        raise InvalidArgumentError("channels is empty; pass e.g. ('18H', '36V').")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgumentError(
            f"timeout={timeout!r}; expected a positive number of seconds, e.g. 60."
        )
    src = _safe_name(path_or_url)
    with _local_file(path_or_url, timeout=float(timeout)) as path:
        try:
            kind = _sniff(path)
            if kind == "hdfeos5":
                data, gbox, extra = _read_hdfeos5(path, parsed, pass_)
            elif kind == "netcdf":
                data, gbox, extra = _read_netcdf(path, parsed, pass_, src)
            else:
                data, gbox, extra = _read_geotiff(path, parsed, pass_, src)
        except (OSError, KeyError) as exc:
            raise LoadError(
                f"could not read AMSR-2 from {src}: {exc}; the file may be truncated or "
                "corrupt: download it again"
            ) from exc
    return _finish(data, gbox, source=src, pass_=pass_, extra_attrs={"format": kind, **extra})
