"""SAR-guided densification of sparse altimeter elevations onto a scene grid.

``densify`` fits, per scene, a regression of the altimeter values that cross the scene on
SAR evidence ([`xseaice.altimetry.features`][]), then interpolates what the SAR does not
explain (the residuals along the tracks) with a Gaussian process: *regression kriging*.

* The basis is linear in the elevation and zero on water, so footprint means of the basis
  regress footprint means of the elevation (CryoSat-2's 1.6 km footprints) and the fit
  predicts at the pixel.  With a lead map (``ice`` 0/1), leads are the local sea-surface
  reference: freeboard is 0 there by construction.  Footprint samples resolve floes, not
  pixels: their SAR classes are clustered on floe means, and the largest floes get an
  offset each (a random effect the footprints on them measure).
* The uncertainty is the standard deviation of a Gaussian predictive distribution: the
  regression coefficients' posterior covariance, plus the kriging variance of the residual field,
  plus the unexplained pixel variance (the GP's white-noise level less the stated
  measurement noise; for footprint samples, the held-out footprints' squared error less
  the noise, times the pixel-to-footprint variance ratio).  ``mean +- z std`` is the
  interval at any level.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xseaice.altimetry.calibrate import Calibration, track_blocks
from xseaice.altimetry.colocate import colocate, lead_map, scene_grid, scene_time, usable_points
from xseaice.altimetry.features import (
    LEVEL_SCALE,
    Basis,
    footprint_means,
    make_basis,
    sar_features,
)
from xseaice.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DensifyMethod", "Regressor", "densify"]

logger = logging.getLogger(__name__)

DensifyMethod = Literal["regression-kriging", "regression"]
Regressor = Literal["boosted", "linear"]
_METHODS = ("regression-kriging", "regression")
_REGRESSORS = ("boosted", "linear")
_MAX_GP_POINTS = 300
_MIN_BOOST_POINTS = 50
_N_FLOES = 32
_PRIOR = "prior"


def _fit_regression(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bayesian ridge fit (evidence-tuned shrinkage); ``(beta, covariance, residuals)``.

    The prior precision is tuned by maximising the evidence, which shrinks harder than
    cross-validation when a single CryoSat-2 pass gives a few dozen footprints.  A basis
    map no point sees (a class or a region no track crosses) keeps its prior: coefficient
    0, variance the prior's.
    """
    from sklearn.linear_model import BayesianRidge

    used = np.abs(design).sum(axis=0) > 0
    model = BayesianRidge(fit_intercept=False).fit(design[:, used], y)
    beta = np.zeros(design.shape[1])
    beta[used] = model.coef_
    cov = np.zeros((design.shape[1], design.shape[1]))
    cov[np.ix_(used, used)] = model.sigma_
    unseen = np.flatnonzero(~used)
    cov[unseen, unseen] = 1.0 / model.lambda_  # sklearn: lambda_ is the weights' precision
    return beta, cov, y - design @ beta


@dataclass
class _Fit:
    """One fitted model: linear SAR regression, optional boosted trees, residual GP."""

    beta: np.ndarray
    cov: np.ndarray
    booster: Any
    gp: Any
    white: float
    resid_var: float

    def predict(self, design: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of a *measurement* at points (rows of the design, km)."""
        mean = design @ self.beta
        var = np.einsum("nk,kn->n", design, self.cov @ design.T)
        if self.booster is not None:
            mean = mean + self.booster.predict(design)
        if self.gp is None:
            return mean, var + self.resid_var
        gm, gs = self.gp.predict(xy, return_std=True)
        return mean + gm, var + gs**2


def _fit_model(
    design: np.ndarray,
    xy: np.ndarray,
    y: np.ndarray,
    *,
    method: str,
    regressor: str,
    seed: int,
    kernel: Any = None,
) -> _Fit:
    """Fit the three stages on training points; ``kernel`` fixes the GP's kernel (CV folds)."""
    beta, cov, resid = _fit_regression(design, y)
    booster = None
    if regressor == "boosted" and y.size >= _MIN_BOOST_POINTS:
        booster = _boost(design, resid, seed)
        resid = resid - booster.predict(design)
    gp = None
    if method == "regression-kriging":
        gp = _fit_gp(xy, resid, seed, kernel)
    white = float(gp.kernel_.k2.noise_level) if gp is not None else 0.0
    return _Fit(beta, cov, booster, gp, white, float(np.var(resid)))


def _boost(design: np.ndarray, resid: np.ndarray, seed: int) -> Any:
    """Shallow, strongly regularised gradient-boosted trees on the regression residuals."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(
        learning_rate=0.05,
        max_iter=150,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        random_state=seed,
    )
    return model.fit(design, resid)


def _fit_gp(xy: np.ndarray, resid: np.ndarray, seed: int, kernel: Any = None) -> Any:
    """GP of the residuals (Matern 3/2 + white noise, at most ``_MAX_GP_POINTS`` points)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(xy), size=min(len(xy), _MAX_GP_POINTS), replace=False))
    if kernel is None:
        var0 = float(np.var(resid)) + 1e-6
        kernel = ConstantKernel(var0, (1e-6, 10.0)) * Matern(
            2.0, (0.05, 100.0), nu=1.5
        ) + WhiteKernel(var0 / 2, (1e-7, 10.0))
        gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=seed)
    else:
        gp = GaussianProcessRegressor(kernel, optimizer=None, normalize_y=False)
    with warnings.catch_warnings():  # a bound hit (e.g. no white noise) is a valid answer
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(xy[take], resid[take])
    return gp


class _GridGP:
    """GP mean and latent variance on a coarse grid, bilinearly upsampled row block by block."""

    def __init__(self, gp: Any, x: np.ndarray, y: np.ndarray) -> None:
        from scipy.interpolate import RegularGridInterpolator

        step = max(1, int(np.ceil(max(x.size, y.size) / 64)))
        xs, ys = x[::step], y[::step]
        if xs[-1] != x[-1]:
            xs = np.append(xs, x[-1])
        if ys[-1] != y[-1]:
            ys = np.append(ys, y[-1])
        gx, gy = np.meshgrid(xs, ys)
        mean, std = gp.predict(np.column_stack([gx.ravel(), gy.ravel()]) / 1000.0, return_std=True)
        self.x, self.y = x, y
        self.mean = RegularGridInterpolator((ys, xs), mean.reshape(gy.shape))
        self.var = RegularGridInterpolator((ys, xs), (std**2).reshape(gy.shape))
        self.white = float(gp.kernel_.k2.noise_level)

    def rows(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and latent variance of rows ``r0:r1``, flattened."""
        yy, xx = np.meshgrid(self.y[r0:r1], self.x, indexing="ij")
        query = np.stack([yy.ravel(), xx.ravel()], axis=1)
        return self.mean(query), np.maximum(self.var(query) - self.white, 0.0)


def _calibrate(
    design: np.ndarray,
    xy: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    full: _Fit,
    *,
    method: str,
    regressor: str,
    seed: int,
) -> Calibration:
    """Held-out normalised residuals of the model refitted without each block fold."""
    if folds.max() < 1:
        return Calibration.none()
    kernel = full.gp.kernel_ if full.gp is not None else None
    resid, sd = np.full(y.size, np.nan), np.full(y.size, np.nan)
    for k in range(int(folds.max()) + 1):
        test = folds == k
        if test.all() or (~test).sum() < 5:
            continue
        fit = _fit_model(
            design[~test],
            xy[~test],
            y[~test],
            method=method,
            regressor=regressor,
            seed=seed,
            kernel=kernel,
        )
        m, v = fit.predict(design[test], xy[test])
        resid[test], sd[test] = y[test] - m, np.sqrt(np.maximum(v, 1e-12))
    ok = np.isfinite(resid)
    if ok.sum() < 10:
        return Calibration.none()
    return Calibration.from_residuals(resid[ok], sd[ok], int(folds.max()) + 1)


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
    regressor: Regressor = "boosted",
    calibrate: bool = True,
    block_m: float = 3000.0,
    prior: xr.DataArray | np.ndarray | None = None,
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
        Number of SAR classes in the regression basis (of the pixel-scale backscatter
        for pixel samples, of the floe means for footprint samples with a lead map).
    regressor : {"boosted", "linear"}
        ``"linear"``: the Bayesian ridge regression on the basis alone; ``"boosted"``:
        plus shallow gradient-boosted trees (scikit-learn) on its residuals, for the
        non-linear part (ice type times deformation), when there are at least 50 points
        and no ``prior`` (footprint samples and a prior keep the linear model).
    calibrate : bool
        Scale the uncertainty by block cross-validation
        ([`xseaice.altimetry.calibrate`][]): blocks of ``block_m`` metres of track are held
        out in turn, and the factor that makes the held-out normalised residuals cover at
        68.3 % and 90 % multiplies the standard deviation.
    block_m : float
        Along-track length of a held-out block.
    prior : xarray.DataArray or numpy.ndarray, optional
        A first guess of ``value`` on the scene grid, in its units (e.g.
        [`DensifyPrior.predict`][xseaice.altimetry.prior.DensifyPrior.predict], a
        climatology, last month's map).  The points then fit what the prior misses: the
        regression is of ``value - prior`` (its footprint means) on the basis plus the
        prior itself, so its scale and level are corrected scene by scene and the ridge
        shrinks towards the prior instead of towards zero.  NaN in the prior is no data.
    seed : int
        Seed of the clustering, of the GP subsample and of the fold dealing.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` float32 named ``value`` with a coordinate ``uncertainty`` (one
        standard deviation, same units); attributes record the method, the number of
        points, the fitted kernel, the regressor and the calibration (``calibration_scale``,
        the held-out ``calibration_z68``/``calibration_z90`` before scaling,
        ``cv_rmse``: the held-out RMSE at the points).

    Raises
    ------
    InvalidArgumentError
        For an unknown method, a missing value column, fewer than 5 usable points on the
        scene, or a mismatching ``ice`` or ``prior`` map.

    Examples
    --------
    >>> fb = densify(ds, points, "freeboard", max_dt="1D")  # doctest: +SKIP
    >>> lo, hi = fb - 1.645 * fb.uncertainty, fb + 1.645 * fb.uncertainty  # doctest: +SKIP
    """
    if method not in _METHODS:
        raise InvalidArgumentError(f"method must be one of {_METHODS}; got {method!r}")
    if regressor not in _REGRESSORS:
        raise InvalidArgumentError(f"regressor must be one of {_REGRESSORS}; got {regressor!r}")
    if not block_m > 0:
        raise InvalidArgumentError(f"block_m must be a positive length in metres; got {block_m!r}")
    x, y, _ = scene_grid(scene_ds)
    pixel = float(abs(x[1] - x[0]))
    ice_map, valid = lead_map(scene_ds, ice)
    pts = usable_points(
        colocate(scene_ds, points, max_dt=max_dt, drift=drift), value, ice_map is not None
    )
    if len(pts) < 5:
        raise InvalidArgumentError(
            f"only {len(pts)} usable points with a finite {value!r} fall on the scene (within "
            f"max_dt={max_dt!r}); pass more passes, a larger max_dt, or another value column"
        )
    zero_on_water = value == "freeboard" and ice_map is not None
    footprints = _has_footprints(pts, pixel)
    support = np.ones((y.size, x.size), dtype=bool)
    if zero_on_water and ice_map is not None:
        support = ice_map
    feats = sar_features(scene_ds, ice_map, pixel)
    first = _prior_map(scene_ds, prior, value)
    if first is not None:
        valid = np.isfinite(first) if valid is None else valid & np.isfinite(first)
        support = support & np.isfinite(first)
        feats[_PRIOR] = np.where(support, first, np.float32(0.0))
    basis = make_basis(
        feats,
        support,
        n_clusters=n_clusters,
        seed=seed,
        constant_everywhere=not zero_on_water,
        # footprints resolve floes, not pixels: classes of floes (speckle-free), chosen on
        # the validation seeds 100-105 (CryoSat-2, one pass: RMSE 0.139 -> 0.134 m; three:
        # 0.119 -> 0.116 m; for ICESat-2's pixel samples the pixel classes stay better)
        cluster_on="floe" if footprints else "pixel",
        # and the floes their own offset: seeds 100-105, CryoSat-2 RMSE 0.130 -> 0.127 m
        # (one pass), 0.114 -> 0.112 m (three); ICESat-2 one pass 0.155 -> 0.160 m: not there
        n_floes=_N_FLOES if footprints else 0,
        # with a prior the level is a correction, shrunk like the rest: validation seeds
        # 100-105, CryoSat-2 one pass, RMSE 0.131 -> 0.126 m (ICESat-2 unchanged)
        level_scale=1.0 if first is not None else LEVEL_SCALE,
    )
    design, frac = footprint_means(basis, pts, pixel, x, y)
    ok = frac > 0
    pts, design = pts.loc[ok].reset_index(drop=True), design[ok]
    target = pts[value].to_numpy(dtype=np.float64)
    offset = _prior_offset(basis, design)
    target = target - offset
    xy = np.column_stack([pts["x"].to_numpy(), pts["y"].to_numpy()]) / 1000.0
    # trees are not linear in the basis: footprint means of the features do not carry
    # over to the pixel, so boosting is for pixel-scale samples (ICESat-2) only
    used = "linear" if footprints else regressor
    if first is not None:  # trees overfit what a learned prior misses: validation seeds
        used = "linear"  # 100-105, ICESat-2 one pass, RMSE 0.145 -> 0.129 m
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # small problems: OpenMP threads (boosted trees) cost more than they give, and
    # oversubscribe a shared machine by orders of magnitude
    with threadpool_limits(limits=1, user_api="openmp"):
        fit = _fit_model(design, xy, target, method=method, regressor=used, seed=seed)
        cal = Calibration.none()
        if calibrate:
            folds = track_blocks(pts, block_m=block_m, seed=seed)
            cal = _calibrate(
                design, xy, target, folds, fit, method=method, regressor=used, seed=seed
            )
    noise = float(np.nanmedian(pts["freeboard_sigma"])) ** 2 if "freeboard_sigma" in pts else 0.0
    kernel, grid_gp = "none", None
    if fit.gp is not None:
        grid_gp = _GridGP(fit.gp, x, y)
        extra = max(fit.white - noise, 0.0)
        if footprints:
            extra = _support_ratio(basis, fit, design, pts) * _footprint_signal_var(fit, cal, noise)
        kernel = str(fit.gp.kernel_)
    else:
        extra = max(fit.resid_var - noise, 0.0)
    with threadpool_limits(limits=1, user_api="openmp"):
        mean, std = _predict(basis, fit, grid_gp, extra, cal.scale, zero_on_water, valid)
    da = _to_dataarray(scene_ds, value, mean, std, method, len(pts), kernel)
    da.attrs.update(regressor=used, prior=int(first is not None), **cal.attrs())
    return da


def _prior_map(
    scene_ds: xr.Dataset, prior: xr.DataArray | np.ndarray | None, value: str
) -> np.ndarray | None:
    """The prior as a float32 ``(y, x)`` array on the scene grid (NaN: no data), or None."""
    if prior is None:
        return None
    src: Any = prior
    if isinstance(src, xr.DataArray):
        if "time" in src.dims:
            src = src.isel(time=0)
        if set(src.dims) != {"y", "x"}:
            raise InvalidArgumentError(
                f"prior must be a (y, x) map of {value!r} on the scene grid; got dims {src.dims}"
            )
        src = src.transpose("y", "x").values
    arr = np.asarray(src, dtype=np.float32)
    shape = (scene_ds.sizes["y"], scene_ds.sizes["x"])
    if arr.shape != shape:
        raise InvalidArgumentError(
            f"prior must be a map of {value!r} on the scene grid {shape}; got shape "
            f"{arr.shape}: predict it on this scene (DensifyPrior.predict(scene_ds, ice))"
        )
    if not np.isfinite(arr).any():
        raise InvalidArgumentError(f"prior has no finite value of {value!r}; pass prior=None")
    return arr


def _prior_offset(basis: Basis, design: np.ndarray) -> np.ndarray:
    """Footprint means of the prior (0 without one), from its standardized basis column."""
    if _PRIOR not in basis.feature_names:
        return np.zeros(design.shape[0])
    i = basis.feature_names.index(_PRIOR)
    col = basis.names.index(_PRIOR)
    return design[:, col] * basis.sd[i] + basis.mu[i]


def _has_footprints(pts: pd.DataFrame, pixel: float) -> bool:
    return "footprint_across_m" in pts and bool((pts["footprint_across_m"] > pixel).any())


def _footprint_signal_var(fit: _Fit, cal: Calibration, noise: float) -> float:
    """Variance of the signal the model misses, at the footprint scale.

    The GP's white noise of footprint samples sits at the measurement noise (0.1 m for
    CryoSat-2), so ``white - noise`` is about zero and says nothing of what the model
    misses; the held-out footprints do: their squared error less the noise (at least the
    nugget's excess).  Chosen on the validation seeds 100-105 (90 % coverage of the
    CryoSat-2 maps from 80 % to 90-92 %).
    """
    nugget = max(fit.white - noise, 0.0)
    if not np.isfinite(cal.rmse):  # not calibrated
        return nugget
    return max(cal.rmse**2 - noise, nugget)


def _support_ratio(basis: Basis, fit: _Fit, design: np.ndarray, pts: pd.DataFrame) -> float:
    """Change of support: variance of the fitted SAR map at the pixel over its footprint mean.

    The residual GP of footprint samples sees the unexplained variance averaged over a
    footprint; the pixel varies more.  The ratio is measured on the SAR-explained map at
    the same points (pixel at the footprint centre vs footprint mean), and assumed to
    hold for the unexplained part too.
    """
    centre = basis.at(pts["row"].to_numpy(), pts["col"].to_numpy()).T @ fit.beta
    mean_fp = design @ fit.beta
    ratio = float(np.var(centre)) / max(float(np.var(mean_fp)), 1e-12)
    return float(np.clip(ratio, 1.0, 25.0))


def _predict(
    basis: Basis,
    fit: _Fit,
    grid_gp: _GridGP | None,
    extra_var: float,
    scale: float,
    zero_on_water: bool,
    valid: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation maps (float32), computed block by block of rows.

    The variance is the regression's, plus the kriging variance (or the residual
    variance without the GP), plus ``extra_var`` (unexplained pixel variance), times
    ``scale**2`` (the calibration); zero off the support with ``zero_on_water``, NaN
    where the lead map has no data.
    """
    ny, nx = basis.shape
    mean_map = np.empty((ny, nx), dtype=np.float32)
    std_map = np.empty((ny, nx), dtype=np.float32)
    for r0, r1 in basis.blocks():
        m = basis.rows(r0, r1)
        mean = fit.beta @ m
        var = np.maximum(np.einsum("kn,kn->n", fit.cov @ m, m), 0.0)
        sup = basis.support[r0:r1].ravel()
        if _PRIOR in basis.feature_names:  # the fit is of what the prior misses
            mean += np.where(sup, basis.raw(_PRIOR)[r0:r1].ravel(), 0.0)
        if fit.booster is not None and sup.any():
            on = np.flatnonzero(sup)
            mean[on] += fit.booster.predict(m[:, on].T)
        if grid_gp is not None:
            gm, gv = grid_gp.rows(r0, r1)
            mean += gm
            var += gv
        var += extra_var
        var *= scale**2
        if zero_on_water:
            mean, var = np.where(sup, mean, 0.0), np.where(sup, var, 0.0)
        if valid is not None:  # no-data in the lead map (binarize's 255): no estimate
            ok = valid[r0:r1].ravel()
            mean, var = np.where(ok, mean, np.nan), np.where(ok, var, np.nan)
        mean_map[r0:r1] = mean.reshape(r1 - r0, nx)
        std_map[r0:r1] = np.sqrt(var).reshape(r1 - r0, nx)
    return mean_map, std_map


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
    da = xr.DataArray(
        np.asarray(mean, dtype=np.float32), dims=("y", "x"), coords=coords, name=value
    )
    da = da.assign_coords(
        uncertainty=(
            ("y", "x"),
            np.asarray(std, dtype=np.float32),
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
