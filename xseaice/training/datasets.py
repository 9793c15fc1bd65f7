"""Training scenes and patch sampling for weak supervision from ice charts.

Every source becomes a list of [`TrainScene`][xseaice.training.datasets.TrainScene] (inputs as a
``[C, H, W]`` float32 array in physical units, the chart's regions rasterized as ids, their
concentrations and AutoICE classes, and a validity mask):

* [`scene_from_dataset`][xseaice.training.datasets.scene_from_dataset]: a scene Dataset (e.g. from
  [`xseaice.load`][xseaice.stac.loading.load]) and an ice chart GeoDataFrame
  ([`xseaice.read_icechart`][xseaice.io.icechart.read_icechart]);
* [`xseaice.training.synthetic_scenes.synthetic_scene`][]: the synthetic world, with
  the physics of each scene drawn widely
  ([`xseaice.synthetic.sample_params`][xseaice.synthetic.sampling.sample_params]); the pixel truth
  is kept for evaluation and reaches the loss only through ``loss.truth_weight``;
* [`xseaice.training.sources.read_ai4arctic`][]: an AI4Arctic ready-to-train netCDF
  scene (the AutoICE data); [`xseaice.training.sources.build_scenes`][] gives the scenes
  of a run configuration.

[`PatchSampler`][xseaice.training.datasets.PatchSampler] draws batches of random patches with flips
and 90-degree rotations. A batch is a pure function of ``(seed, epoch, step)``, so a resumed run
sees exactly the batches the interrupted run would have seen.

Validity: a pixel is valid where all SAR inputs (``hh``, ``hv``, ``incidence_angle``) are
finite, as in `xseaice.inference.segment`; other inputs (AMSR-2) that are NaN become
0 after normalisation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xseaice.exceptions import CRSError, TrainingError
from xseaice.variables import SAR_VARIABLES

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr


__all__ = [
    "AI4ARCTIC_NAMES",
    "PatchSampler",
    "TrainScene",
    "compute_normalisation",
    "scene_from_dataset",
]

logger = logging.getLogger(__name__)

#: xseaice variable -> AI4Arctic ready-to-train variable.
AI4ARCTIC_NAMES: dict[str, str] = {
    "hh": "nersc_sar_primary",
    "hv": "nersc_sar_secondary",
    "incidence_angle": "sar_incidenceangle",
    "tb18h": "btemp_18_7h",
    "tb18v": "btemp_18_7v",
    "tb36h": "btemp_36_5h",
    "tb36v": "btemp_36_5v",
}

_UNDEF = 255
# batch key -> TrainScene.truth key of the pixel-truth targets (synthetic world)
_TRUTH_TARGETS = {"truth_ice": "ice", "truth_sod": "sod", "truth_floe": "floe"}
# poly types whose regions may legitimately lack a CT (land, ice shelf, no data)
_NO_CT_TYPES = frozenset({"L", "S", "N"})


@dataclass
class TrainScene:
    """One scene ready for training or evaluation.

    Attributes
    ----------
    name : str
        Identifier (file name, seed).
    variables : tuple of str
        Input variables in channel order.
    inputs : numpy.ndarray
        float32 ``[C, H, W]`` in physical units (dB, degree, K), NaN = no data.
    region_ids : numpy.ndarray
        int32 ``[H, W]``: chart region ``1..N`` (0 = none).
    region_ct : numpy.ndarray
        float32 ``[N]``: concentration (0-1) of region ``k`` at index ``k - 1``; NaN if the
        region gives none (left out of the loss).
    region_classes : dict
        ``sic``, ``sod``, ``floe``: uint8 ``[N]`` AutoICE classes per region (255 undefined).
    valid : numpy.ndarray
        bool ``[H, W]``: all SAR inputs finite.
    labels : dict
        Optional per-pixel uint8 ``sic``, ``sod``, ``floe`` ``[H, W]`` (AI4Arctic files
        carry them); otherwise derived from the regions on demand.
    truth : dict
        Pixel truth (synthetic world only): ``ice``, ``lead`` ``[H, W]`` and the AutoICE
        ``sod`` / ``floe`` classes of every pixel.  Used by the loss only with
        ``loss.truth_weight > 0`` (ice) or ``loss.truth_task_weight > 0`` (SOD, FLOE).
    chart : GeoDataFrame, optional
        The decoded chart the regions come from (row ``k - 1`` is region ``k``).
    like : Any
        The scene's Dataset or GeoBox (for ALS with ``preserve=chart``), if known.
    pixel_size : float
        Pixel size in metres.
    meta : dict
        Free metadata (season, seed, parameters).
    region_low, region_high : numpy.ndarray, optional
        float32 ``[N]``: the interval ``[ct_low, ct_high]`` each region's code stands for
        (a range code such as 91 is 0.9-1.0); ``None``: ``region_ct`` (exact codes).
    """

    name: str
    variables: tuple[str, ...]
    inputs: np.ndarray
    region_ids: np.ndarray
    region_ct: np.ndarray
    region_classes: dict[str, np.ndarray]
    valid: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    chart: Any = None
    like: Any = None
    pixel_size: float = 40.0
    meta: dict[str, Any] = field(default_factory=dict)
    region_low: np.ndarray | None = None
    region_high: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return (int(self.inputs.shape[1]), int(self.inputs.shape[2]))

    def concentration_map(self) -> np.ndarray:
        """float32 ``[H, W]``: each pixel's region concentration (NaN outside / undefined)."""
        lut = np.concatenate([[np.nan], self.region_ct]).astype("float32")
        return lut[self.region_ids]

    def interval_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """float32 ``[H, W]`` lower and upper bounds of each pixel's region code (NaN outside)."""
        out = []
        for bound in (self.region_low, self.region_high):
            values = self.region_ct if bound is None else bound
            values = np.where(np.isfinite(self.region_ct), values, np.nan)
            lut = np.concatenate([[np.nan], values]).astype("float32")
            out.append(lut[self.region_ids])
        return out[0], out[1]

    def label_map(self, task: str) -> np.ndarray:
        """uint8 ``[H, W]`` AutoICE class of ``task`` (sic, sod, floe); 255 = undefined."""
        if task in self.labels:
            return self.labels[task]
        cls = self.region_classes.get(task)
        if cls is None:
            return np.full(self.shape, _UNDEF, dtype="uint8")
        lut = np.concatenate([[_UNDEF], cls]).astype("uint8")
        return lut[self.region_ids]

    def labelled(self) -> np.ndarray:
        """bool ``[H, W]``: valid pixels inside a region with a concentration."""
        return self.valid & np.isfinite(self.concentration_map())


def _valid_mask(inputs: np.ndarray, variables: Sequence[str]) -> np.ndarray:
    sar = [i for i, v in enumerate(variables) if v in SAR_VARIABLES]
    idx = sar or list(range(len(variables)))
    return np.isfinite(inputs[idx]).all(axis=0)


def _check_scene(scene: TrainScene, *, undefined_ct: str) -> TrainScene:
    if not scene.valid.any():
        raise TrainingError(
            f"scene {scene.name!r} has no valid pixel (its SAR inputs "
            f"{[v for v in scene.variables if v in SAR_VARIABLES]} are NaN everywhere); "
            "drop it, or check the load (bbox, time, calibration)"
        )
    inside = scene.valid & (scene.region_ids > 0)
    if not inside.any():
        raise TrainingError(
            f"the ice chart of scene {scene.name!r} does not overlap the scene's valid pixels; "
            "use the chart of the scene's date and area (and check that the chart's CRS is "
            "right: coordinates in metres labelled as degrees or vice versa land elsewhere)"
        )
    used = np.unique(scene.region_ids[inside])
    ct = scene.region_ct[used - 1]
    undefined = used[~np.isfinite(ct)]
    if undefined.size and undefined_ct == "error":
        raise TrainingError(
            f"scene {scene.name!r}: chart regions {undefined[:10].tolist()} (ids = row "
            "position + 1) overlap the scene but have no total concentration CT; fix the "
            "chart, drop those rows, or set data.undefined_ct: ignore to leave them out of "
            "the loss"
        )
    if not np.isfinite(ct).any():
        raise TrainingError(
            f"scene {scene.name!r}: no chart region overlapping the scene has a total "
            "concentration; nothing to train on"
        )
    return scene


def _decoded(chart: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from xseaice.io.icechart import read_icechart

    if "ct" not in chart.columns or "sic_class" not in chart.columns:
        chart = read_icechart(chart)
    return chart


def _chart_bounds(chart: gpd.GeoDataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-row ``ct_low`` / ``ct_high`` of a decoded chart (``None`` if it has none)."""
    if "ct_low" not in chart.columns or "ct_high" not in chart.columns:
        return None, None
    return (
        chart["ct_low"].to_numpy(dtype="float32").copy(),
        chart["ct_high"].to_numpy(dtype="float32").copy(),
    )


def _chart_tables(
    chart: gpd.GeoDataFrame,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Per-row ct (NaN where unusable), AutoICE classes and whether CT may be missing."""
    chart = _decoded(chart)
    ct = chart["ct"].to_numpy(dtype="float32").copy()
    classes = {
        task: chart[f"{task}_class"].to_numpy().astype("uint8")
        for task in ("sic", "sod", "floe")
        if f"{task}_class" in chart.columns
    }
    poly = (
        chart["poly_type"].astype(str).str.upper().to_numpy()
        if "poly_type" in chart.columns
        else np.full(len(chart), "I", dtype=object)
    )
    exempt = np.isin(poly, list(_NO_CT_TYPES))
    return ct, classes, exempt


def _geobox_and_crs(ds: Any, name: str) -> Any:
    import odc.geo.xr  # noqa: F401

    try:
        gbox = ds.odc.geobox
    except Exception:
        gbox = None
    if gbox is None or gbox.crs is None:
        raise CRSError(
            f"scene {name!r} has no CRS/geobox; expected a Dataset from xseaice.load (with a "
            "'spatial_ref' coordinate). Assign one with ds.odc.assign_crs(...)"
        )
    return gbox


def scene_from_dataset(
    ds: xr.Dataset,
    chart: gpd.GeoDataFrame,
    *,
    variables: Sequence[str],
    time: int = 0,
    name: str | None = None,
    undefined_ct: str = "error",
    truth: Mapping[str, Any] | None = None,
) -> TrainScene:
    """Build a training scene from a scene Dataset and its ice chart.

    Parameters
    ----------
    ds : xarray.Dataset
        A scene (`xseaice.variables` contract) with a CRS.
    chart : geopandas.GeoDataFrame
        The ice chart, raw SIGRID-3 or already decoded by
        [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart]; any CRS (reprojected), but it
        must have one.
    variables : sequence of str
        Input variables in channel order.
    time : int
        Time step of a ``(time, y, x)`` Dataset.
    name : str, optional
        Scene name for messages.
    undefined_ct : {"error", "ignore"}
        What to do with ice / water regions on the scene that lack a total concentration.
    truth : mapping, optional
        Pixel truth arrays (evaluation; training only with ``loss.truth_weight``).

    Returns
    -------
    TrainScene

    Raises
    ------
    TrainingError
        Missing variables, no valid pixel, a chart that does not overlap the scene, or
        regions without a concentration (with ``undefined_ct="error"``).
    CRSError
        The scene or the chart has no CRS.
    """
    from xseaice.io.icechart import rasterize_chart

    name = name or str(ds.attrs.get("title", "scene"))
    missing = [v for v in variables if v not in ds.data_vars]
    if missing:
        raise TrainingError(
            f"scene {name!r} lacks variables {missing} (it has {list(map(str, ds.data_vars))}); "
            "load them, or train on data.variables that every scene has"
        )
    if getattr(chart, "crs", None) is None:
        raise CRSError(
            f"the ice chart of scene {name!r} has no CRS; set it with chart.set_crs(...) "
            "(SIGRID-3 shapefiles carry it in their .prj file)"
        )
    sub = ds[list(variables)]
    if "time" in sub.dims:
        sub = sub.isel(time=time)
    gbox = _geobox_and_crs(sub, name)
    try:
        ids_da = rasterize_chart(chart, gbox)
    except Exception as err:
        if "CRS" in type(err).__name__ or "crs" in str(err).lower():
            raise CRSError(
                f"cannot bring the chart of scene {name!r} (CRS {chart.crs}) onto the scene's "
                f"grid (CRS {gbox.crs}): {err}"
            ) from err
        raise
    inputs = np.stack([np.asarray(sub[v].values, dtype="float32") for v in variables])
    chart = _decoded(chart)
    ct, classes, exempt = _chart_tables(chart)
    ct_use = ct.copy()
    ct_use[exempt] = np.nan
    region_ids = np.asarray(ids_da.values, dtype="int32")
    low, high = _chart_bounds(chart)
    valid = _valid_mask(inputs, variables)
    if "land_mask" in ds.data_vars:
        land = ds["land_mask"]
        land = land.isel(time=time) if "time" in land.dims else land
        valid &= ~np.asarray(land.values).astype(bool)
    scene = TrainScene(
        name=name,
        variables=tuple(variables),
        inputs=inputs,
        region_ids=region_ids,
        region_ct=ct_use,
        region_classes=classes,
        valid=valid,
        truth={k: np.asarray(v) for k, v in (truth or {}).items()},
        chart=chart,
        like=gbox,
        pixel_size=float(abs(gbox.resolution.x)),
        region_low=low,
        region_high=high,
    )
    # regions exempt by type (land, no data) are not an error; others without CT are
    if undefined_ct == "error":
        inside = scene.valid & (region_ids > 0)
        used = np.unique(region_ids[inside])
        bad = used[~np.isfinite(ct[used - 1]) & ~exempt[used - 1]]
        if bad.size:
            raise TrainingError(
                f"scene {name!r}: chart regions {bad[:10].tolist()} (ids = row position + 1) "
                "overlap the scene but have no total concentration CT; fix the chart, drop "
                "those rows, or set data.undefined_ct: ignore to leave them out of the loss"
            )
    return _check_scene(scene, undefined_ct="ignore")


def _canonical(name: str) -> str:
    inverse = {v: k for k, v in AI4ARCTIC_NAMES.items()}
    return inverse.get(name, name)


# ---------------------------------------------------------------------------------------
# normalisation and patches
# ---------------------------------------------------------------------------------------


def compute_normalisation(
    scenes: Sequence[TrainScene], *, max_pixels: int = 2_000_000
) -> dict[str, tuple[float, float]]:
    """Per-variable mean and standard deviation over the valid pixels of the scenes.

    Parameters
    ----------
    scenes : sequence of TrainScene
        Training scenes (never the evaluation ones).
    max_pixels : int
        Pixels used per variable (a regular subsample of every scene).

    Returns
    -------
    dict
        ``variable -> (mean, std)``; std is at least 1e-6.
    """
    if not scenes:
        raise TrainingError("no training scenes to compute the normalisation from")
    variables = scenes[0].variables
    total = sum(int(s.valid.sum()) for s in scenes)
    stride = max(1, math.isqrt(max(1, total // max_pixels)))
    samples: list[list[np.ndarray]] = [[] for _ in variables]
    for s in scenes:
        if s.variables != variables:
            raise TrainingError(
                f"scene {s.name!r} has variables {s.variables}, expected {variables}"
            )
        x = s.inputs[:, ::stride, ::stride]
        m = s.valid[::stride, ::stride]
        for i in range(len(variables)):
            v = x[i][m]
            samples[i].append(v[np.isfinite(v)])
    out: dict[str, tuple[float, float]] = {}
    for i, var in enumerate(variables):
        v = np.concatenate(samples[i]).astype("float64")
        if v.size == 0:
            raise TrainingError(f"variable {var!r} has no finite value in the training scenes")
        out[var] = (float(v.mean()), max(float(v.std()), 1e-6))
    return out


def normalise(inputs: np.ndarray, variables: Sequence[str], norm: Mapping[str, Any]) -> np.ndarray:
    """``(x - mean) / std`` per channel with NaN -> 0 (as inference does), float32."""
    mean = np.array([norm[v][0] for v in variables], dtype="float32")[:, None, None]
    std = np.array([norm[v][1] for v in variables], dtype="float32")[:, None, None]
    out = (inputs - mean) / std
    np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return out.astype("float32", copy=False)


class PatchSampler:
    """Deterministic random patches from a list of scenes.

    Parameters
    ----------
    scenes : sequence of TrainScene
        Training scenes.
    normalisation : mapping
        ``variable -> (mean, std)``.
    patch_size, batch_size : int
        Patch side and patches per batch.
    seed : int
        Seed of the stream; batch ``(epoch, step)`` is drawn from
        ``numpy.random.default_rng([seed, epoch, step])``.
    augment : bool
        Random 90-degree rotations and flips.
    min_valid_fraction : float
        Redraw a patch (up to 20 times) with a smaller fraction of labelled pixels.
    channel_dropout : sequence of str, optional
        Variables zeroed together (after normalisation) in a patch ...
    channel_dropout_p : float
        ... with this probability.
    db_offset_std : float
        Per patch, add a calibration offset drawn from ``N(0, db_offset_std)`` dB to
        ``hh`` and to ``hv`` (independently), so the model cannot memorise absolute levels
        (a real scene's calibration and noise floor differ from the training world's).
    incidence_slope_std : float
        Per patch, add ``s * (incidence_angle - 35)`` dB with ``s ~ N(0, incidence_slope_std)``
        dB/degree to ``hh`` and ``hv`` (the slope of backscatter with incidence varies with
        ice type and wind).

    Whole polygons: with ``patch_size`` at least the scene size, every batch item is a
    whole scene (zero-padded, padding not valid), so the region loss averages each chart
    polygon over all of its pixels in the scene.
    """

    def __init__(
        self,
        scenes: Sequence[TrainScene],
        *,
        normalisation: Mapping[str, Any],
        patch_size: int,
        batch_size: int,
        seed: int,
        augment: bool = True,
        min_valid_fraction: float = 0.5,
        channel_dropout: Sequence[str] = (),
        channel_dropout_p: float = 0.0,
        db_offset_std: float = 0.0,
        incidence_slope_std: float = 0.0,
    ) -> None:
        if not scenes:
            raise TrainingError("no training scenes")
        self.patch_size = int(patch_size)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.augment = bool(augment)
        self.min_valid_fraction = float(min_valid_fraction)
        variables = list(scenes[0].variables)
        self._dropout = [variables.index(v) for v in channel_dropout]
        self._dropout_p = float(channel_dropout_p)
        self._db_offset = float(db_offset_std)
        self._inc_slope = float(incidence_slope_std)
        self._sar = [
            (variables.index(v), float(normalisation[v][1])) for v in ("hh", "hv") if v in variables
        ]
        self._inc: tuple[int, float, float] | None = None
        if "incidence_angle" in variables:
            inc_mean, inc_std = normalisation["incidence_angle"]
            self._inc = (variables.index("incidence_angle"), float(inc_mean), float(inc_std))
        self._x = []
        self._ids = []
        self._conc = []
        self._low: list[np.ndarray] = []
        self._high: list[np.ndarray] = []
        self._valid = []
        self._labels: list[dict[str, np.ndarray]] = []
        p = self.patch_size
        for s in scenes:
            x = normalise(s.inputs, s.variables, normalisation)
            h, w = s.shape
            ph, pw = max(0, p - h), max(0, p - w)
            pad = ((0, ph), (0, pw))
            self._x.append(np.pad(x, ((0, 0), *pad)))
            self._ids.append(np.pad(s.region_ids, pad))
            self._conc.append(np.pad(s.concentration_map(), pad, constant_values=np.nan))
            low, high = s.interval_maps()
            self._low.append(np.pad(low, pad, constant_values=np.nan))
            self._high.append(np.pad(high, pad, constant_values=np.nan))
            self._valid.append(np.pad(s.valid, pad))
            labels = {
                t: np.pad(s.label_map(t), pad, constant_values=_UNDEF)
                for t in ("sic", "sod", "floe")
            }
            for key, src in _TRUTH_TARGETS.items():
                truth = s.truth.get(src)
                labels[key] = np.pad(
                    np.full(s.shape, _UNDEF, "uint8") if truth is None else truth.astype("uint8"),
                    pad,
                    constant_values=_UNDEF,
                )
            self._labels.append(labels)
        weight = np.array([max(1, int(s.labelled().sum())) for s in scenes], dtype="float64")
        self._scene_p = weight / weight.sum()

    def _radiometric(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Calibration offset and incidence-slope perturbation of hh / hv (normalised x)."""
        slope = rng.normal(0.0, self._inc_slope) if self._inc_slope > 0 else 0.0
        tilt: Any = 0.0
        if slope and self._inc is not None:
            ki, inc_mean, inc_std = self._inc
            tilt = slope * (x[ki] * inc_std + inc_mean - 35.0)
        for k, std in self._sar:
            offset = rng.normal(0.0, self._db_offset) if self._db_offset > 0 else 0.0
            x[k] += (offset + tilt) / std
        return x

    def batch(self, epoch: int, step: int) -> dict[str, np.ndarray]:
        """Batch number ``step`` of ``epoch``: a pure function of ``(seed, epoch, step)``.

        Returns
        -------
        dict
            ``x`` float32 ``[B, C, P, P]`` (normalised), ``region_ids`` int64, ``concentration``,
            ``ct_low``, ``ct_high`` float32, ``valid`` bool, ``sic``/``sod``/``floe`` and
            ``truth_ice``, ``truth_sod``, ``truth_floe`` (the scene's pixel truth, synthetic
            world only) int64 (255 undefined), all ``[B, P, P]``.
        """
        rng = np.random.default_rng([self.seed, int(epoch), int(step)])
        p = self.patch_size
        out: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "x",
                "region_ids",
                "concentration",
                "ct_low",
                "ct_high",
                "valid",
                "sic",
                "sod",
                "floe",
                *_TRUTH_TARGETS,
            )
        }
        for item in range(self.batch_size):
            i = int(rng.choice(len(self._x), p=self._scene_p))
            h, w = self._valid[i].shape
            best, best_frac = (0, 0), -1.0
            for _try in range(20):
                y0 = int(rng.integers(0, h - p + 1))
                x0 = int(rng.integers(0, w - p + 1))
                lab = self._valid[i][y0 : y0 + p, x0 : x0 + p] & np.isfinite(
                    self._conc[i][y0 : y0 + p, x0 : x0 + p]
                )
                frac = float(lab.mean())
                if frac > best_frac:
                    best, best_frac = (y0, x0), frac
                if frac >= self.min_valid_fraction:
                    break
            y0, x0 = best
            sl = (slice(y0, y0 + p), slice(x0, x0 + p))
            items = {
                "x": self._x[i][(slice(None), *sl)],
                "region_ids": self._ids[i][sl],
                "concentration": self._conc[i][sl],
                "ct_low": self._low[i][sl],
                "ct_high": self._high[i][sl],
                "valid": self._valid[i][sl],
                **{t: self._labels[i][t][sl] for t in ("sic", "sod", "floe", *_TRUTH_TARGETS)},
            }
            if self.augment:
                k = int(rng.integers(0, 4))
                flip = bool(rng.integers(0, 2))
                for key, a in items.items():
                    a = np.rot90(a, k, axes=(-2, -1))
                    if flip:
                        a = a[..., ::-1]
                    items[key] = a
            if self._dropout and self._dropout_p > 0 and rng.random() < self._dropout_p:
                xa = np.array(items["x"])
                xa[self._dropout] = 0.0
                items["x"] = xa
            if self._db_offset > 0 or self._inc_slope > 0:
                # own stream: the patches drawn do not depend on these options
                arng = np.random.default_rng([self.seed, int(epoch), int(step), item, 1])
                items["x"] = self._radiometric(np.array(items["x"]), arng)
            for key, a in items.items():
                out[key].append(np.ascontiguousarray(a))
        return {
            "x": np.stack(out["x"]).astype("float32"),
            "region_ids": np.stack(out["region_ids"]).astype("int64"),
            "concentration": np.stack(out["concentration"]).astype("float32"),
            "ct_low": np.stack(out["ct_low"]).astype("float32"),
            "ct_high": np.stack(out["ct_high"]).astype("float32"),
            "valid": np.stack(out["valid"]),
            "sic": np.stack(out["sic"]).astype("int64"),
            "sod": np.stack(out["sod"]).astype("int64"),
            "floe": np.stack(out["floe"]).astype("int64"),
            **{k: np.stack(out[k]).astype("int64") for k in _TRUTH_TARGETS},
        }


# ---------------------------------------------------------------------------------------
# from a config
# ---------------------------------------------------------------------------------------
