"""SAR-guided densification of sparse altimeter elevations onto a scene grid.

``densify`` fits, per scene, a regression of the altimeter values that cross the scene on
SAR evidence ([`xseaice.altimetry.features`][]), then interpolates what the SAR does not
explain (the residuals along the tracks) with a Gaussian process: *regression kriging*.

* The basis is linear in the elevation and zero on water, so footprint means of the basis
  regress footprint means of the elevation (CryoSat-2's 1.6 km footprints) and the fit
  predicts at the pixel.  With a lead map (``ice`` 0/1), leads are the local sea-surface
  reference: freeboard is 0 there by construction.
* The uncertainty is the standard deviation of a Gaussian predictive distribution: the
  regression coefficients' posterior covariance, plus the kriging variance of the residual field,
  plus the unexplained pixel variance (the GP's white-noise level less the stated
  measurement noise).  ``mean +- z std`` is the interval at any level.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xseaice.altimetry.colocate import colocate, scene_grid, scene_time
from xseaice.altimetry.features import Basis, footprint_means, make_basis, sar_features
from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DensifyMethod", "densify"]

logger = logging.getLogger(__name__)

DensifyMethod = Literal["regression-kriging", "regression"]
_METHODS = ("regression-kriging", "regression")
_MAX_GP_POINTS = 300


def _ice_map(
    scene_ds: xr.Dataset, ice: xr.DataArray | np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(ice, valid)``: the lead map as booleans, and where it has data (0 or 1)."""
    src = ice if ice is not None else (scene_ds["ice"] if "ice" in scene_ds else None)
    if src is None:
        return None, None
    if isinstance(src, xr.DataArray):
        if "time" in src.dims:
            src = src.isel(time=0)
        src = src.transpose("y", "x").values
    arr = np.asarray(src)
    if arr.shape != (scene_ds.sizes["y"], scene_ds.sizes["x"]):
        raise InvalidArgumentError(
            f"ice must be a 0/1 map on the scene grid "
            f"{(scene_ds.sizes['y'], scene_ds.sizes['x'])}; "
            f"got shape {arr.shape}: binarize the scene's probability (prob.seaice.binarize())"
        )
    valid = np.isin(arr, (0, 1))
    return arr == 1, valid


def _targets(pts: pd.DataFrame, value: str, lead_map: bool) -> pd.DataFrame:
    if value not in pts:
        raise InvalidArgumentError(
            f"points have no column {value!r}; choose value= among "
            f"{[c for c in pts.columns if pts[c].dtype.kind == 'f']}"
        )
    pts = pts.copy()
    surface = pts["surface"].astype(str) if "surface" in pts else pd.Series("floe", pts.index)
    if value == "freeboard":
        water = surface.isin(["lead", "ocean"])
        pts.loc[water, value] = np.nan if lead_map else 0.0
    keep = np.isfinite(pts[value].to_numpy(dtype=np.float64))
    if "quality_ok" in pts:
        keep &= pts["quality_ok"].to_numpy(dtype=bool)
    return pts.loc[keep].reset_index(drop=True)


def _fit_regression(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bayesian ridge fit (evidence-tuned shrinkage); ``(beta, covariance, residuals)``.

    The prior precision is tuned by maximising the evidence, which shrinks harder than
    cross-validation when a single CryoSat-2 pass gives a few dozen footprints.
    """
    from sklearn.linear_model import BayesianRidge

    used = np.abs(design).sum(axis=0) > 0
    model = BayesianRidge(fit_intercept=False).fit(design[:, used], y)
    beta = np.zeros(design.shape[1])
    beta[used] = model.coef_
    cov = np.zeros((design.shape[1], design.shape[1]))
    cov[np.ix_(used, used)] = model.sigma_
    return beta, cov, y - design @ beta


def _krige_residuals(
    pts: pd.DataFrame, resid: np.ndarray, x: np.ndarray, y: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, float, str]:
    """GP of the residuals on a coarse grid, bilinearly upsampled; (mean, var, white, kernel)."""
    from scipy.interpolate import RegularGridInterpolator
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    xy = np.column_stack([pts["x"].to_numpy(), pts["y"].to_numpy()]) / 1000.0
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(xy), size=min(len(xy), _MAX_GP_POINTS), replace=False))
    var0 = float(np.var(resid)) + 1e-6
    kernel = ConstantKernel(var0, (1e-6, 10.0)) * Matern(2.0, (0.05, 100.0), nu=1.5) + WhiteKernel(
        var0 / 2, (1e-7, 10.0)
    )
    gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=seed)
    with warnings.catch_warnings():  # a bound hit (e.g. no white noise) is a valid answer
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(xy[take], resid[take])
    step = max(1, int(np.ceil(max(x.size, y.size) / 64)))
    xs, ys = x[::step], y[::step]
    if xs[-1] != x[-1]:
        xs = np.append(xs, x[-1])
    if ys[-1] != y[-1]:
        ys = np.append(ys, y[-1])
    gx, gy = np.meshgrid(xs, ys)
    mean, std = gp.predict(np.column_stack([gx.ravel(), gy.ravel()]) / 1000.0, return_std=True)
    full = np.meshgrid(y, x, indexing="ij")
    query = np.stack([full[0].ravel(), full[1].ravel()], axis=1)

    def up(a: np.ndarray) -> np.ndarray:
        f = RegularGridInterpolator((ys, xs), a.reshape(gy.shape))
        return f(query).reshape(y.size, x.size)

    white = float(gp.kernel_.k2.noise_level)
    return up(mean), up(std**2), white, str(gp.kernel_)


def densify(
    scene_ds: xr.Dataset,
    points: gpd.GeoDataFrame,
    value: str = "freeboard",
    *,
    method: DensifyMethod = "regression-kriging",
    max_dt: str | pd.Timedelta | None = None,
    drift: xr.Dataset | None = None,
    ice: xr.DataArray | np.ndarray | None = None,
    n_clusters: int = 8,
    seed: int = 0,
) -> xr.DataArray:
    """Map sparse altimeter values over a SAR scene, with an uncertainty.

    Parameters
    ----------
    scene_ds : xarray.Dataset
        One SAR scene with ``hh``, ``hv`` (dB), x/y coordinates and a CRS; an ``ice`` 0/1
        variable is used as the lead map when ``ice`` is not given.
    points : geopandas.GeoDataFrame
        Altimeter points ([`xseaice.read_altimetry`][xseaice.io.altimetry.read_altimetry], synthetic
        tracks).  Optional columns ``footprint_along_m``/``footprint_across_m`` (footprint
        averaging), ``freeboard_sigma`` (measurement noise), ``quality_ok``, ``surface``.
    value : str
        The column to map.  ``"freeboard"`` uses the leads as the zero reference.
    method : {"regression-kriging", "regression"}
        SAR regression plus kriged residuals, or the SAR regression alone.
    max_dt : str or pandas.Timedelta, optional
        Use only points within this time of the scene.
    drift : xarray.Dataset, optional
        Ice drift from [`xseaice.sar.drift.drift`][] (``time_a``/``time_b``): points
        are moved to the scene time before fitting.
    ice : xarray.DataArray or numpy.ndarray, optional
        0/1 floe/lead map on the scene grid (e.g. ``prob.seaice.binarize()``); other
        values (255, NaN) are no data and give NaN in the result.
    n_clusters : int
        Number of SAR classes in the regression basis.
    seed : int
        Seed of the clustering and of the GP subsample.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` float32 named ``value`` with a coordinate ``uncertainty`` (one
        standard deviation, same units); attributes record the method, the number of
        points and the fitted kernel.

    Raises
    ------
    InvalidArgumentError
        For an unknown method, a missing value column, fewer than 5 usable points on the
        scene, or a mismatching ``ice`` map.

    Examples
    --------
    >>> fb = densify(ds, points, "freeboard", max_dt="1D")  # doctest: +SKIP
    >>> lo, hi = fb - 1.645 * fb.uncertainty, fb + 1.645 * fb.uncertainty  # doctest: +SKIP
    """
    if method not in _METHODS:
        raise InvalidArgumentError(f"method must be one of {_METHODS}; got {method!r}")
    x, y, _ = scene_grid(scene_ds)
    pixel = float(abs(x[1] - x[0]))
    ice_map, valid = _ice_map(scene_ds, ice)
    pts = _targets(
        colocate(scene_ds, points, max_dt=max_dt, drift=drift), value, ice_map is not None
    )
    if len(pts) < 5:
        raise InvalidArgumentError(
            f"only {len(pts)} usable points with a finite {value!r} fall on the scene (within "
            f"max_dt={max_dt!r}); pass more passes, a larger max_dt, or another value column"
        )
    zero_on_water = value == "freeboard" and ice_map is not None
    support = np.ones((y.size, x.size), dtype=bool)
    if zero_on_water and ice_map is not None:
        support = ice_map
    basis = make_basis(
        sar_features(scene_ds, ice_map, pixel),
        support,
        n_clusters=n_clusters,
        seed=seed,
        constant_everywhere=not zero_on_water,
    )
    design, frac = footprint_means(basis, pts, pixel, x, y)
    ok = frac > 0
    pts, design = pts.loc[ok].reset_index(drop=True), design[ok]
    target = pts[value].to_numpy(dtype=np.float64)
    beta, cov, resid = _fit_regression(design, target)
    mean, var = _predict(basis, beta, cov)
    noise = float(np.nanmedian(pts["freeboard_sigma"])) ** 2 if "freeboard_sigma" in pts else 0.0
    kernel = "none"
    if method == "regression-kriging":
        gm, gv, white, kernel = _krige_residuals(pts, resid, x, y, seed)
        unexplained = max(white - noise, 0.0)
        mean += gm
        var += np.maximum(gv - white, 0.0) + unexplained
    else:
        var += max(float(np.var(resid)) - noise, 0.0)
    if zero_on_water:
        mean, var = np.where(support, mean, 0.0), np.where(support, var, 0.0)
    if valid is not None:  # no-data in the lead map (binarize's 255): no estimate
        mean, var = np.where(valid, mean, np.nan), np.where(valid, var, np.nan)
    return _to_dataarray(scene_ds, value, mean, np.sqrt(var), method, len(pts), kernel)


def _predict(basis: Basis, beta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k, ny, nx = basis.maps.shape
    m = basis.maps.reshape(k, -1).astype(np.float64)
    mean = (beta @ m).reshape(ny, nx)
    var = np.einsum("kn,kn->n", cov @ m, m).reshape(ny, nx)
    return mean, np.maximum(var, 0.0)


def _to_dataarray(
    scene_ds: xr.Dataset,
    value: str,
    mean: np.ndarray,
    std: np.ndarray,
    method: str,
    n: int,
    kernel: str,
) -> xr.DataArray:
    coords = {k: scene_ds.coords[k] for k in ("y", "x", "spatial_ref") if k in scene_ds.coords}
    t = scene_time(scene_ds)
    if t is not None:
        coords["time"] = xr.DataArray(np.datetime64(t, "ns"))
    da = xr.DataArray(mean.astype(np.float32), dims=("y", "x"), coords=coords, name=value)
    da = da.assign_coords(
        uncertainty=(
            ("y", "x"),
            std.astype(np.float32),
            {"long_name": f"{value} standard deviation", "units": "m"},
        )
    )
    da.attrs = {
        "long_name": f"SAR-guided {value}",
        "units": "m",
        "grid_mapping": "spatial_ref",
        "method": method,
        "n_points": int(n),
        "residual_kernel": kernel,
    }
    return da
