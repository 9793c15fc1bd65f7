"""Where training scenes come from: AI4Arctic ready-to-train netCDF files and the scene
list of a run configuration (synthetic, AI4Arctic, or ``{dataset, chart}`` pairs).

Each source becomes a list of [`TrainScene`][xseaice.training.datasets.TrainScene].
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xseaice.exceptions import ConfigError, TrainingError
from xseaice.training.datasets import (
    _UNDEF,
    AI4ARCTIC_NAMES,
    TrainScene,
    _canonical,
    _chart_tables,
    _check_scene,
    _valid_mask,
    scene_from_dataset,
)
from xseaice.training.synthetic_scenes import synthetic_list

if TYPE_CHECKING:
    from xseaice.training.config import TrainConfig

__all__ = ["ai4arctic_files", "build_scenes", "read_ai4arctic"]

logger = logging.getLogger(__name__)


def ai4arctic_files(path: str | os.PathLike[str]) -> list[Path]:
    """The netCDF scene files of an AI4Arctic folder (or the one file given), sorted.

    Reference files of the test split (``*_reference.nc``) are not scenes and are skipped.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise TrainingError(
            f"AI4Arctic path {str(p)!r} does not exist; download the ready-to-train data "
            "(https://doi.org/10.11583/DTU.21316608) and point data.path at its folder"
        )
    files = sorted(f for f in p.glob("*.nc") if not f.name.endswith("_reference.nc"))
    if not files:
        raise TrainingError(f"no .nc scene files in {str(p)!r}")
    return files


def _upsample(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a coarse grid onto ``shape`` (pixel-centre aligned)."""
    if arr.shape == shape:
        return arr.astype("float32")
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(arr, dtype="float32"))[None, None]
    finite = torch.isfinite(t)
    num = F.interpolate(torch.where(finite, t, 0.0), size=shape, mode="bilinear")
    den = F.interpolate(finite.float(), size=shape, mode="bilinear")
    out = (num / den.clamp_min(1e-6))[0, 0].numpy()
    out[den[0, 0].numpy() < 0.5] = np.nan
    return out.astype("float32")


def _regions_from_labels(sic: np.ndarray, sod: np.ndarray, floe: np.ndarray) -> np.ndarray:
    """Regions as connected components of equal (SIC, SOD, FLOE) labels (SIC defined)."""
    from scipy import ndimage

    key = sic.astype("int64") * 65536 + sod.astype("int64") * 256 + floe.astype("int64")
    key[sic == _UNDEF] = -1
    ids = np.zeros(sic.shape, dtype="int32")
    nxt = 0
    for k in np.unique(key):
        if k < 0:
            continue
        lab, n = ndimage.label(key == k)
        ids[lab > 0] = lab[lab > 0] + nxt
        nxt += n
    return ids


def read_ai4arctic(
    path: str | os.PathLike[str],
    *,
    variables: Sequence[str],
    pixel_size: float = 80.0,
    reference: str | os.PathLike[str] | None = None,
) -> TrainScene:
    """Read one AI4Arctic ready-to-train scene.

    Parameters
    ----------
    path : str or path
        The scene's netCDF file.
    variables : sequence of str
        xseaice variable names (mapped with
        [`AI4ARCTIC_NAMES`][xseaice.training.sources.AI4ARCTIC_NAMES]), or AI4Arctic names used as
        they are (e.g. ``distance_map``, ``btemp_89_0h``).
    pixel_size : float, default 80
        Pixel size in metres of the ready-to-train grid.
    reference : path, optional
        Separate label file (the test split's ``*_reference.nc``); default the scene itself,
        or ``<name>_reference.nc`` beside it when the scene has no ``SIC``.

    Returns
    -------
    TrainScene
        AMSR-2 (and other coarse) variables are upsampled bilinearly to the SAR grid.
        Regions: the chart polygons (``polygon_icechart`` with ``polygon_codes``) where the
        file carries them; otherwise the connected components of equal
        (SIC, SOD, FLOE) labels, with concentration SIC / 10.  Per-pixel ``SIC``, ``SOD``,
        ``FLOE`` labels (255 masked) are kept for the multi-task heads.
    """
    import xarray as xr

    path = Path(path)
    try:
        ds = xr.open_dataset(path, mask_and_scale=True)
    except Exception as err:
        raise TrainingError(f"cannot open AI4Arctic scene {str(path)!r}: {err}") from err
    with ds:
        ref_ds = None
        if reference is None and "SIC" not in ds.variables:
            cand = path.with_name(path.stem + "_reference.nc")
            reference = cand if cand.exists() else None
        if reference is not None:
            ref_ds = xr.open_dataset(reference, mask_and_scale=True)
        try:
            names = [AI4ARCTIC_NAMES.get(v, v) for v in variables]
            missing = [n for n in names if n not in ds.variables]
            if missing:
                raise TrainingError(
                    f"AI4Arctic scene {path.name} lacks variables {missing}; it has "
                    f"{sorted(map(str, ds.data_vars))}"
                )
            sar_name = AI4ARCTIC_NAMES["hh"] if AI4ARCTIC_NAMES["hh"] in ds else names[0]
            shape = tuple(int(s) for s in ds[sar_name].shape[-2:])
            arrs = []
            for n in names:
                a = np.asarray(ds[n].values, dtype="float32").squeeze()
                arrs.append(_upsample(a, shape))  # type: ignore[arg-type]
            inputs = np.stack(arrs)
            lab_src = ref_ds if ref_ds is not None else ds
            labels: dict[str, np.ndarray] = {}
            for task in ("SIC", "SOD", "FLOE"):
                if task in lab_src.variables:
                    raw = np.asarray(lab_src[task].values).squeeze()
                    raw = np.where(np.isfinite(raw), raw, _UNDEF).astype("uint8")
                    labels[task.lower()] = raw
            region_ids: np.ndarray
            region_classes: dict[str, np.ndarray] = {}
            if "polygon_icechart" in ds.variables and "polygon_codes" in ds.variables:
                from xseaice.io.icechart import read_icechart

                codes = ds["polygon_codes"].values
                chart = read_icechart(codes.item() if codes.ndim == 0 else codes)
                poly = np.asarray(ds["polygon_icechart"].values).squeeze()
                ids_sorted = chart.index.to_numpy(dtype="int64")
                pos = np.zeros(int(max(ids_sorted.max(), np.nanmax(poly))) + 2, dtype="int32")
                pos[ids_sorted] = np.arange(1, len(ids_sorted) + 1, dtype="int32")
                pix = np.where(np.isfinite(poly), poly, -1).astype("int64")
                region_ids = np.where(pix >= 0, pos[np.clip(pix, 0, None)], 0).astype("int32")
                ct, region_classes, exempt = _chart_tables(chart)
                ct[exempt] = np.nan
                region_ct = ct
            elif "sic" in labels:
                sod = labels.get("sod", np.full(shape, _UNDEF, "uint8"))
                floe = labels.get("floe", np.full(shape, _UNDEF, "uint8"))
                region_ids = _regions_from_labels(labels["sic"], sod, floe)
                n_regions = int(region_ids.max())
                first = np.zeros(n_regions + 1, dtype="int64")
                flat = region_ids.ravel()
                first[flat] = np.arange(flat.size)  # some pixel of each region
                rows = first[1:]
                region_classes = {
                    "sic": labels["sic"].ravel()[rows],
                    "sod": sod.ravel()[rows],
                    "floe": floe.ravel()[rows],
                }
                region_ct = region_classes["sic"].astype("float32") / 10.0
            else:
                raise TrainingError(
                    f"AI4Arctic scene {path.name} has neither SIC labels nor "
                    "polygon_icechart/polygon_codes; nothing to train on (for the test split "
                    "put the *_reference.nc files beside the scenes)"
                )
        finally:
            if ref_ds is not None:
                ref_ds.close()
    scene = TrainScene(
        name=path.stem,
        variables=tuple(variables),
        inputs=inputs,
        region_ids=region_ids,
        region_ct=region_ct.astype("float32"),
        region_classes=region_classes,
        valid=_valid_mask(inputs, [_canonical(v) for v in variables]),
        labels=labels,
        pixel_size=float(pixel_size),
    )
    return _check_scene(scene, undefined_ct="ignore")


def _scene_specs(config: TrainConfig, specs: Sequence[Any]) -> list[TrainScene]:
    import xarray as xr

    from xseaice.io.icechart import read_icechart

    out = []
    for spec in specs:
        path = Path(spec.dataset)
        if not path.exists():
            raise TrainingError(f"scene dataset {str(path)!r} does not exist")
        ds = (
            xr.open_zarr(path) if path.suffix == ".zarr" or path.is_dir() else xr.open_dataset(path)
        )
        chart = read_icechart(spec.chart)
        out.append(
            scene_from_dataset(
                ds,
                chart,
                variables=config.data.variables,
                time=spec.time,
                name=path.stem,
                undefined_ct=config.data.undefined_ct,
            )
        )
    return out


def build_scenes(
    config: TrainConfig,
    *,
    split: str = "train",
    scenes: Sequence[Any] | None = None,
) -> list[TrainScene]:
    """The training (``split="train"``) or validation (``"val"``) scenes of a config.

    Parameters
    ----------
    config : TrainConfig
        The run.
    split : {"train", "val"}
        Which scenes.
    scenes : sequence, optional
        In-memory scenes overriding the config: [`TrainScene`][xseaice.training.datasets.TrainScene]
        objects or ``(Dataset, chart)`` pairs.

    Returns
    -------
    list of TrainScene
        Possibly empty for ``"val"``.
    """
    if scenes is not None:
        out = []
        for j, s in enumerate(scenes):
            if isinstance(s, TrainScene):
                out.append(s)
            else:
                ds, chart = s
                out.append(
                    scene_from_dataset(
                        ds,
                        chart,
                        variables=config.data.variables,
                        name=f"{split}-{j}",
                        undefined_ct=config.data.undefined_ct,
                    )
                )
        return out
    src = config.data.source
    if src == "synthetic":
        return synthetic_list(config, split=split)
    if src == "ai4arctic":
        path = config.data.path if split == "train" else config.data.val_path
        if not path:
            return []
        return [read_ai4arctic(f, variables=config.data.variables) for f in ai4arctic_files(path)]
    specs = config.data.scenes if split == "train" else config.data.val_scenes
    if split == "train" and not specs:
        raise ConfigError(
            "data.source is 'scenes' but data.scenes is empty; list {dataset: ..., chart: ...} "
            "entries, or pass scenes=[(dataset, chart), ...] to train()"
        )
    return _scene_specs(config, specs)
