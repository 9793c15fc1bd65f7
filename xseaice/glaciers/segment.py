"""Zone segmentation of glacier scenes through the package's one tiling engine.

[`segment_zones`][xseaice.glaciers.segment.segment_zones] is the only place where the glacier code
calls the tiling engine (`xseaice.inference.segment`): seam-free tiles with the model's halo,
bounded memory, bfloat16 where the hardware has it.  Glacier models are trained on several sensors,
so a model may declare the range of pixel sizes it accepts (``training["pixel_size_range"]``);
the scene's own pixel size is then used instead of the single training pixel size.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from xseaice.exceptions import InvalidArgumentError, ModelError

if TYPE_CHECKING:
    from torch import nn

    from xseaice.models import WeightsSpec

__all__ = ["DEFAULT_GLACIER_MODEL", "scene_pixel_size", "segment_zones"]

#: Registry name of the bundled glacier zone model.
DEFAULT_GLACIER_MODEL = "glacier-zones"


def scene_pixel_size(scene: xr.Dataset | xr.DataArray) -> float:
    """Pixel size in metres: the ``pixel_size`` attribute, else the x coordinate spacing."""
    if "pixel_size" in scene.attrs:
        return float(scene.attrs["pixel_size"])
    if "x" in scene.coords and scene.sizes.get("x", 0) > 1:
        return abs(float(scene["x"].values[1] - scene["x"].values[0]))
    raise InvalidArgumentError(
        "the scene has no pixel size: give it a 'pixel_size' attribute (metres) or x "
        "coordinates in metres"
    )


def _module_and_spec(model: Any) -> tuple[nn.Module, WeightsSpec]:
    from torch import nn

    from xseaice.models import WeightsSpec, load_model

    if isinstance(model, tuple):
        if len(model) != 2 or not isinstance(model[0], nn.Module):
            raise InvalidArgumentError("model tuple must be (torch.nn.Module, WeightsSpec)")
        if not isinstance(model[1], WeightsSpec):
            raise InvalidArgumentError("model tuple must be (torch.nn.Module, WeightsSpec)")
        return model[0], model[1]
    if not isinstance(model, str | os.PathLike | WeightsSpec):
        raise InvalidArgumentError(
            "model must be a registered name, a weights path, a WeightsSpec or a "
            f"(module, WeightsSpec) pair; got {type(model).__name__}"
        )
    return load_model(model)


def segment_zones(
    scene: xr.Dataset,
    model: Any = DEFAULT_GLACIER_MODEL,
    *,
    tile: int | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
) -> xr.Dataset:
    """Segment a glacier scene into zones (NA, rock, glacier, ocean), lazily and tiled.

    Parameters
    ----------
    scene : xarray.Dataset
        A scene with the model's input variables (``sar``: 8-bit grey values as float, NaN
        for no data), dims ``(y, x)``; e.g. from [`xseaice.io.caffe.read_caffe`][] or
        [`xseaice.synthetic.fjord.make_fjord`][].
    model : str, path, WeightsSpec or (nn.Module, WeightsSpec), default "glacier-zones"
        A zone model (output ``zones`` with 4 classes).
    tile, device, precision, batch_size
        Passed to `xseaice.inference.segment`.

    Returns
    -------
    xarray.Dataset
        ``zones_logit`` (float32, ``zones_class`` x y x x) and ``zones`` (uint8 classes, 0
        = NA also where the input has no data), lazy (dask).

    Raises
    ------
    ModelError
        If the model has no ``zones`` output or the scene's pixel size is outside the
        model's range.
    """
    from xseaice.inference import segment  # the one call into the tiling engine

    module, spec = _module_and_spec(model)
    if "zones" not in spec.outputs:
        raise ModelError(
            f"model {spec.name!r} has outputs {list(spec.outputs)}; a glacier zone model "
            "with a 'zones' output is needed (e.g. 'glacier-zones')"
        )
    px = scene_pixel_size(scene)
    lo, hi = spec.training.get("pixel_size_range", (spec.pixel_size, spec.pixel_size))
    if not 0.9 * float(lo) <= px <= 1.1 * float(hi):
        raise ModelError(
            f"the scene's pixel size is {px:g} m; model {spec.name!r} accepts {lo:g}-{hi:g} m. "
            "Resample the scene into that range"
        )
    spec = dataclasses.replace(spec, pixel_size=px)
    inputs = scene[list(spec.variables)] if isinstance(scene, xr.Dataset) else scene
    out = segment(
        inputs,
        (module, spec),
        tile=tile,
        device=device,
        precision=precision,  # type: ignore[arg-type]
        batch_size=batch_size,
    )
    assert isinstance(out, xr.Dataset)
    zones = out["zones"]
    out["zones"] = zones.where(zones != 255, 0).astype(np.uint8).assign_attrs(zones.attrs)
    out.attrs.update({k: scene.attrs[k] for k in ("glacier", "date", "sensor") if k in scene.attrs})
    out.attrs["pixel_size"] = px
    return out
