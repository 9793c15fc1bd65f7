"""Write a synthetic scene in the AI4Arctic "ready-to-train" netCDF layout (AutoICE).

Variables (as in the AI4Arctic Sea Ice Challenge dataset, Buus-Hinkler et al. 2022):

========================  =====================  =========================================
variable                  dims                   content
========================  =====================  =========================================
``nersc_sar_primary``     SAR                    HH sigma0 (dB), float32
``nersc_sar_secondary``   SAR                    HV sigma0 (dB), float32
``sar_incidenceangle``    SAR                    incidence angle (deg)
``distance_map``          SAR                    distance to land (km)
``btemp_18_7h`` ...       AMSR                   AMSR-2 TB (K), 18.7 and 36.5 GHz, H and V
``SIC``, ``SOD``, ``FLOE``  SAR                  uint8 AutoICE classes, 255 = masked
``polygon_icechart``      SAR                    chart polygon id (float, NaN = none)
``polygon_codes``         ``polygon_codes_rows``  rows ``"id;CT;CA;SA;FA;CB;SB;FB;CC;SC;FC"``
========================  =====================  =========================================

SAR dims are (``sar_lines``, ``sar_samples``), AMSR dims
(``2km_grid_lines``, ``2km_grid_samples``).

The SAR grid is the scene grid block-averaged by ``factor`` (default 2: 40 m -> 80 m,
averaging linear sigma0), the AMSR-2 grid block-averages the scene's (already
interpolated) TBs to about 2 km.  The labels come from the chart: each polygon's AutoICE
classes ([`xseaice.io.autoice.autoice_classes`][]) painted on its pixels.  The synthetic
world has no land, so ``distance_map`` is the distance to the scene edge.  Concentration
codes in ``polygon_codes`` are written as integers like the AI4Arctic tables (``1`` for
``01``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path
from xseaice.synthetic.scene import SyntheticScene

__all__ = ["polygon_codes", "write_ai4arctic"]

logger = logging.getLogger(__name__)

_FIELDS = ("CT", "CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC")


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    ny, nx = a.shape
    ny2, nx2 = ny // f, nx // f
    return a[: ny2 * f, : nx2 * f].reshape(ny2, f, nx2, f).mean(axis=(1, 3))


def polygon_codes(chart: object) -> list[str]:
    """The AI4Arctic ``polygon_codes`` rows (header first) of a SIGRID-3 chart."""
    rows = ["id;" + ";".join(_FIELDS)]
    for _, r in chart.iterrows():  # type: ignore[attr-defined]
        vals = []
        for f in _FIELDS:
            v = str(r[f]).strip()
            vals.append(str(int(v)) if v.lstrip("-").isdigit() else "-9")
        rows.append(f"{int(r['ID_NEW'])};" + ";".join(vals))
    return rows


def write_ai4arctic(
    scene: SyntheticScene,
    path: str | os.PathLike[str],
    *,
    factor: int = 2,
    amsr_pixel_m: float = 2000.0,
) -> Path:
    """Write ``scene`` as an AI4Arctic ready-to-train netCDF file.

    Parameters
    ----------
    scene : SyntheticScene
        From [`make_scene`][xseaice.synthetic.scene.make_scene].
    path : path
        Output ``.nc`` file (written to a temporary file and renamed into place).
    factor : int
        Block size of the SAR grid in scene pixels (2: 40 m -> 80 m).
    amsr_pixel_m : float
        Approximate pixel size of the AMSR-2 grid (m).

    Returns
    -------
    pathlib.Path
        The file.
    """
    import xarray as xr

    from xseaice.io.autoice import autoice_classes

    if factor < 1:
        raise InvalidArgumentError(f"factor must be a positive integer; got {factor!r}")
    ds = scene.dataset.isel(time=0)
    ps = float(abs(scene.geobox.resolution.x))
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    if ny // factor < 2 or nx // factor < 2:
        raise InvalidArgumentError(
            f"factor={factor} leaves less than 2 x 2 SAR pixels of {ny} x {nx}"
        )

    def sar_db(name: str) -> np.ndarray:
        lin = 10.0 ** (ds[name].values.astype(np.float64) / 10.0)
        return (10.0 * np.log10(_block_mean(lin, factor))).astype(np.float32)

    inc = _block_mean(ds["incidence_angle"].values.astype(np.float64), factor).astype(np.float32)
    ids = scene.chart_ids
    if ids is None:
        raise InvalidArgumentError("scene has no chart_ids; create it with make_scene.")
    sub = ids[factor // 2 :: factor, factor // 2 :: factor][: ny // factor, : nx // factor]
    chart = scene.chart
    sic, sod, floe = autoice_classes(
        chart["CT"], chart["CA"], chart["CB"], chart["CC"],
        chart["SA"], chart["SB"], chart["SC"], chart["FA"], chart["FB"], chart["FC"],
        poly_type=chart["POLY_TYPE"],
    )  # fmt: skip
    lut = {
        name: np.full(int(chart["ID_NEW"].max()) + 1, 255, dtype=np.uint8)
        for name in ("SIC", "SOD", "FLOE")
    }
    pid = chart["ID_NEW"].to_numpy(dtype=np.int64)
    lut["SIC"][pid], lut["SOD"][pid], lut["FLOE"][pid] = sic, sod, floe
    h2, w2 = sub.shape
    rr, cc = np.meshgrid(np.arange(h2), np.arange(w2), indexing="ij")
    dist = (
        np.minimum.reduce([rr + 0.5, cc + 0.5, h2 - rr - 0.5, w2 - cc - 0.5]) * ps * factor / 1000.0
    )
    fa = max(1, round(amsr_pixel_m / ps))
    sar_dims = ("sar_lines", "sar_samples")
    amsr_dims = ("2km_grid_lines", "2km_grid_samples")
    data = {
        "nersc_sar_primary": (
            sar_dims,
            sar_db("hh"),
            {"long_name": "Sentinel-1 HH sigma0", "units": "dB"},
        ),
        "nersc_sar_secondary": (
            sar_dims,
            sar_db("hv"),
            {"long_name": "Sentinel-1 HV sigma0", "units": "dB"},
        ),
        "sar_incidenceangle": (sar_dims, inc, {"long_name": "incidence angle", "units": "degree"}),
        "distance_map": (
            sar_dims,
            dist.astype(np.float32),
            {"long_name": "distance to land (scene edge: no land)", "units": "km"},
        ),
        "polygon_icechart": (
            sar_dims,
            sub.astype(np.float32),
            {"long_name": "ice chart polygon id"},
        ),
    }
    for var, name in (
        ("tb18h", "btemp_18_7h"),
        ("tb18v", "btemp_18_7v"),
        ("tb36h", "btemp_36_5h"),
        ("tb36v", "btemp_36_5v"),
    ):
        tb = _block_mean(ds[var].values.astype(np.float64), fa).astype(np.float32)
        data[name] = (
            amsr_dims,
            tb,
            {"long_name": f"AMSR2 brightness temperature {name[6:]}", "units": "K"},
        )
    for task in ("SIC", "SOD", "FLOE"):
        data[task] = (
            sar_dims,
            lut[task][sub],
            {"long_name": f"AutoICE {task} class"},
        )
    codes = np.array(polygon_codes(chart), dtype=object)
    out_ds = xr.Dataset({k: xr.Variable(d, v, attrs=a) for k, (d, v, a) in data.items()})
    out_ds["polygon_codes"] = xr.Variable(("polygon_codes_rows",), codes)
    out_ds.attrs = {
        "scene_id": f"synthetic_{scene.params.season}_{scene.seed}",
        "original_id": f"xseaice-synthetic-seed{scene.seed}",
        "ice_service": "xseaice synthetic chart",
        "pixel_spacing": ps * factor,
        "source": "xseaice.synthetic.write_ai4arctic",
        "scene_time": str(np.datetime_as_string(scene.time, unit="s")),
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        enc: dict[str, dict[str, Any]] = {k: {"zlib": True, "complevel": 4} for k in data}
        for task in ("SIC", "SOD", "FLOE"):
            enc[task]["_FillValue"] = np.uint8(255)
        out_ds.to_netcdf(tmp, engine="netcdf4", encoding=enc)
    logger.info("wrote %s", out)
    return out
