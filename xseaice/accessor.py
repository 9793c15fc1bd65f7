"""The ``seaice`` accessors on `xarray.Dataset` and `xarray.DataArray`.

Each method forwards, in a line or two, to a plain function of the module that owns the
step; the functions' docstrings are the reference.  Modules are imported when a method is
first called, so ``import xseaice`` stays fast and torch is not imported until a model runs.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

__all__ = ["SeaIceArrayAccessor", "SeaIceDatasetAccessor"]


@xr.register_dataset_accessor("seaice")
class SeaIceDatasetAccessor:
    """Sea-ice methods of a scene `xarray.Dataset` (``ds.seaice``)."""

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    def segment(self, model: Any = "default", **kwargs: Any) -> Any:
        """Run a segmentation model lazily; see `xseaice.inference.segment`."""
        from xseaice.inference import segment

        return segment(self._obj, model, **kwargs)

    def plot(self, **kwargs: Any) -> Any:
        """Plot the scene's inputs side by side; see [`xseaice.plotting.plot_scene`][]."""
        from xseaice.plotting import plot_scene

        return plot_scene(self._obj, **kwargs)

    def drift(self, other: xr.Dataset, **kwargs: Any) -> xr.Dataset:
        """Ice displacement from this scene to ``other``; see [`xseaice.sar.drift.drift`][]."""
        from xseaice.sar.drift import drift

        return drift(self._obj, other, **kwargs)

    def despeckle(self, **kwargs: Any) -> Any:
        """Speckle-filtered HH/HV; see [`xseaice.sar.despeckle.despeckle`][]."""
        from xseaice.sar.despeckle import despeckle

        return despeckle(self._obj, **kwargs)

    def warp(self, drift: xr.Dataset, to_time: Any, **kwargs: Any) -> Any:
        """The scene moved to ``to_time`` along a drift; see [`xseaice.sar.warp.warp`][]."""
        from xseaice.sar.warp import warp

        return warp(self._obj, drift, to_time, **kwargs)

    def densify(self, points: Any, value: str = "freeboard", **kwargs: Any) -> xr.DataArray:
        """Altimeter values mapped over the scene; see `xseaice.altimetry.densify`."""
        from xseaice.altimetry.densify import densify

        return densify(self._obj, points, value, **kwargs)


@xr.register_dataarray_accessor("seaice")
class SeaIceArrayAccessor:
    """Sea-ice methods of a product `xarray.DataArray` (``da.seaice``)."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def scale_logits(self, **kwargs: Any) -> xr.DataArray:
        """Analytical Logit Scaling; see [`xseaice.products.als.scale_logits`][]."""
        from xseaice.products.als import scale_logits

        return scale_logits(self._obj, **kwargs)

    def binarize(self, threshold: float = 0.5) -> xr.DataArray:
        """Ice (1) / water (0) map; see [`xseaice.products.topology.binarize`][]."""
        from xseaice.products.topology import binarize

        return binarize(self._obj, threshold=threshold)

    def topology(self, **kwargs: Any) -> xr.Dataset:
        """Floes, leads and floe sizes; see [`xseaice.products.topology.topology`][]."""
        from xseaice.products.topology import topology

        return topology(self._obj, **kwargs)

    def concentration(self, polygons: Any, **kwargs: Any) -> Any:
        """Mean of the map per polygon; see [`xseaice.products.zonal.concentration`][]."""
        from xseaice.products.zonal import concentration

        return concentration(self._obj, polygons, **kwargs)

    def calving_front(self, **kwargs: Any) -> Any:
        """Front lines and raster of a zone map; see
        [`xseaice.glaciers.calving_front`][xseaice.glaciers.fronts.calving_front]."""
        from xseaice.glaciers.fronts import calving_front

        return calving_front(self._obj, **kwargs)

    def despeckle(self, **kwargs: Any) -> Any:
        """Speckle-filtered backscatter; see [`xseaice.sar.despeckle.despeckle`][]."""
        from xseaice.sar.despeckle import despeckle

        return despeckle(self._obj, **kwargs)

    def plot(self, **kwargs: Any) -> Any:
        """Plot a product with a suitable colour map; see [`xseaice.plotting.plot`][]."""
        from xseaice.plotting import plot

        return plot(self._obj, **kwargs)
