"""File-to-file forms of the SAR and altimetry tools, for the command line.

``xseaice densify``, ``xseaice drift``, ``xseaice despeckle`` and ``xseaice train-prior``
open local scenes (Zarr or netCDF, as ``xseaice segment --input`` does), run the library
call and write one file atomically: nothing is left half-written, and an existing output
is replaced only with ``overwrite``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError
from xseaice.io.atomic import atomic_path
from xseaice.workflow import open_local_scene

if TYPE_CHECKING:
    from xseaice.sar.despeckle import DespeckleMethod
    from xseaice.sar.drift import DriftMethod

__all__ = ["densify_to_file", "despeckle_to_file", "drift_to_file", "train_prior_to_file"]


def _check_target(output: Path, suffixes: tuple[str, ...], overwrite: bool) -> None:
    if output.suffix not in suffixes:
        raise InvalidArgumentError(
            f"-o/--output {str(output)!r}: expected a file ending in {' or '.join(suffixes)}"
        )
    if output.exists() and not overwrite:
        raise InvalidArgumentError(
            f"-o/--output {str(output)!r} exists; pass --overwrite to replace it, or choose "
            "another path"
        )


def _netcdf_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes netCDF can hold: numbers, strings, and the rest as strings."""
    ok = (str, int, float, np.integer, np.floating)
    return {k: v if isinstance(v, ok) else str(v) for k, v in attrs.items() if v is not None}


def _write_netcdf(ds: xr.Dataset, output: Path) -> Path:
    ds = ds.copy()
    ds.attrs = _netcdf_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = _netcdf_attrs(ds[name].attrs)
    with atomic_path(output) as tmp:
        ds.to_netcdf(tmp)
    return output


def _points(paths: Sequence[str]) -> Any:
    from xseaice.io.altimetry import read_altimetry

    if not paths:
        raise InvalidArgumentError("points: pass at least one altimetry file (ATL10, L2I, merge)")
    return read_altimetry(list(paths))


def _lead_map(path: str | Path, ds: xr.Dataset) -> np.ndarray:
    """A 0/1 floe/lead map from a GeoTIFF (``xseaice_ice.tif``) or a scene's ``ice``."""
    src = Path(path)
    if src.suffix.lower() in (".tif", ".tiff"):
        import rioxarray

        if not src.exists():
            raise InvalidArgumentError(f"--ice {str(path)!r} does not exist")
        raster = rioxarray.open_rasterio(src)
        if not isinstance(raster, xr.DataArray):  # a multi-subdataset file
            raise InvalidArgumentError(f"--ice {str(path)!r}: expected a one-band GeoTIFF")
        arr = np.asarray(raster.squeeze(drop=True).values)
    else:
        other = open_local_scene(src, "--ice")
        if "ice" not in other:
            raise InvalidArgumentError(
                f"--ice {str(path)!r} has no 'ice' variable; pass the segment command's "
                "xseaice_ice.tif or a dataset with an 'ice' 0/1 variable"
            )
        da = other["ice"]
        arr = np.asarray((da.isel(time=0) if "time" in da.dims else da).values)
    shape = (ds.sizes["y"], ds.sizes["x"])
    if arr.shape != shape:
        raise InvalidArgumentError(
            f"--ice {str(path)!r} is {arr.shape} pixels, the scene {shape}: the lead map must "
            "be on the scene's grid (segment the same scene at the same resolution)"
        )
    return arr


def densify_to_file(
    scene: str | Path,
    points: Sequence[str],
    output: str | Path,
    *,
    ice: str | Path | None = None,
    value: str = "freeboard",
    max_dt: str | None = None,
    prior: str | Path | None = None,
    prior_sha256: str | None = None,
    lead_map: bool = True,
    overwrite: bool = False,
) -> Path:
    """Densify altimeter files over a local scene and write the map as netCDF.

    Parameters
    ----------
    scene : str or pathlib.Path
        A scene (Zarr or netCDF) with ``hh``, ``hv`` (dB) and, as the lead map, an
        ``ice`` 0/1 variable (an ``xseaice segment`` product or a truth).
    points : sequence of str
        Altimetry files read by [`xseaice.read_altimetry`][xseaice.io.altimetry.read_altimetry].
    output : str or pathlib.Path
        The ``.nc`` file: ``value`` and its ``uncertainty`` (one standard deviation).
    ice : str or pathlib.Path, optional
        The lead map, when not the scene's ``ice``: ``xseaice segment``'s
        ``xseaice_ice.tif`` (0 lead, 1 floe, 255 no data) or a dataset with ``ice``, on
        the scene's grid.
    value : str
        The column to map.
    max_dt : str, optional
        Use only points within this time of the scene (``"1D"``, ``"12h"``).
    prior : str or pathlib.Path, optional
        A [`DensifyPrior`][xseaice.altimetry.prior.DensifyPrior] file: its map of the scene
        is the first guess the points correct.
    prior_sha256 : str, optional
        Expected sha256 of the prior file.
    lead_map : bool
        Use the scene's ``ice`` variable as the lead map (freeboard 0 on leads).
    overwrite : bool
        Replace an existing ``output``.

    Returns
    -------
    pathlib.Path
        ``output``.
    """
    from xseaice.altimetry import densify
    from xseaice.altimetry.prior import DensifyPrior

    out = Path(output)
    _check_target(out, (".nc",), overwrite)
    ds = open_local_scene(scene, "scene").load()
    if ice is not None and not lead_map:
        raise InvalidArgumentError("--ice and --no-lead-map contradict each other; pass one")
    if not lead_map and "ice" in ds:
        ds = ds.drop_vars("ice")
    leads = _lead_map(ice, ds) if ice is not None else None
    pts = _points(points)
    first = None
    if prior is not None:
        first = DensifyPrior.load(prior, sha256=prior_sha256).predict(ds, leads)
    fb = densify(ds, pts, value, max_dt=max_dt, ice=leads, prior=first)
    unc = fb["uncertainty"].reset_coords(drop=True)
    unc.attrs = dict(fb["uncertainty"].attrs)
    res = xr.Dataset({value: fb.reset_coords("uncertainty", drop=True), "uncertainty": unc})
    res.attrs = {"source": "xseaice densify", "scene": Path(scene).name}
    return _write_netcdf(res, out)


def drift_to_file(
    a: str | Path,
    b: str | Path,
    output: str | Path,
    *,
    method: DriftMethod = "pyramid",
    step: int = 16,
    overwrite: bool = False,
) -> Path:
    """Ice drift from scene ``a`` to scene ``b``, written as netCDF (``u``, ``v``, ``quality``).

    Parameters
    ----------
    a, b : str or pathlib.Path
        Two local scenes of the same ice (``hh``, ``hv`` dB, a ``time``).
    output : str or pathlib.Path
        The ``.nc`` file.
    method : {"pyramid"}
        As [`xseaice.sar.drift.drift`][]'s ``method``.
    step : int
        Pixels between drift vectors.
    overwrite : bool
        Replace an existing ``output``.

    Returns
    -------
    pathlib.Path
        ``output``.
    """
    from xseaice.sar.drift import drift

    out = Path(output)
    _check_target(out, (".nc",), overwrite)
    field = drift(open_local_scene(a, "a"), open_local_scene(b, "b"), method=method, step=step)
    return _write_netcdf(field.compute(), out)


def despeckle_to_file(
    scene: str | Path,
    output: str | Path,
    *,
    method: DespeckleMethod = "lee",
    size: int = 7,
    overwrite: bool = False,
) -> Path:
    """Speckle-filter a local scene's HH/HV and write the scene as netCDF or Zarr.

    Parameters
    ----------
    scene : str or pathlib.Path
        A local scene.
    output : str or pathlib.Path
        ``.nc`` or ``.zarr``: the scene with filtered ``hh``/``hv`` (other variables kept).
    method : str
        As [`xseaice.sar.despeckle.despeckle`][]'s ``method``.
    size : int
        Filter window (pixels) of the classical filters.
    overwrite : bool
        Replace an existing ``output``.

    Returns
    -------
    pathlib.Path
        ``output``.
    """
    from xseaice.sar.despeckle import despeckle

    out = Path(output)
    _check_target(out, (".nc", ".zarr"), overwrite)
    # a Dataset in, a Dataset out
    res = cast(xr.Dataset, despeckle(open_local_scene(scene, "scene"), method=method, size=size))
    if out.suffix == ".zarr":
        with atomic_path(out) as tmp:
            res.to_zarr(tmp)
        return out
    return _write_netcdf(res.compute(), out)


def train_prior_to_file(
    pairs: Sequence[tuple[str, str]],
    output: str | Path,
    *,
    value: str = "freeboard",
    steps: int = 4000,
    progress: bool = True,
    overwrite: bool = False,
) -> tuple[Path, str]:
    """Train a [`DensifyPrior`][xseaice.altimetry.prior.DensifyPrior] on past passes.

    Parameters
    ----------
    pairs : sequence of (str, str)
        ``(scene, altimetry file)`` pairs: each scene with a lead map (``ice``) and one
        mission's points over it.
    output : str or pathlib.Path
        The ``.safetensors`` file.
    value : str
        The column to learn.
    steps : int
        Optimizer steps.
    progress : bool
        Show a progress bar.
    overwrite : bool
        Replace an existing ``output``.

    Returns
    -------
    (pathlib.Path, str)
        ``output`` and its sha256 (pass it to ``densify --prior-sha256``).
    """
    from xseaice.altimetry.prior import DensifyPrior
    from xseaice.io.altimetry import read_altimetry

    out = Path(output)
    _check_target(out, (".safetensors",), overwrite)
    if not pairs:
        raise InvalidArgumentError("--pair: give at least one SCENE POINTS pair")
    scenes = [open_local_scene(s, "--pair scene").load() for s, _ in pairs]
    points = [read_altimetry(p) for _, p in pairs]
    model = DensifyPrior.fit(scenes, points, value, steps=steps, progress=progress)
    return out, model.save(out)
