"""Altimetry with SAR: co-location of tracks with scenes, SAR-guided densification, baselines.

Modules: [`colocate`][xseaice.altimetry.colocate] (points onto a scene grid, time window, drift),
[`features`][xseaice.altimetry.features] (SAR evidence and the regression basis),
`densify` (`densify`), [`prior`][xseaice.altimetry.prior] (a learned SAR-to-elevation prior),
[`baselines`][xseaice.altimetry.baselines] (nearest track, inverse distance, ordinary kriging) and
[`multipass`][xseaice.altimetry.multipass].
"""

from __future__ import annotations

from xseaice.altimetry.densify import densify
from xseaice.altimetry.prior import DensifyPrior

__all__ = ["DensifyPrior", "densify"]
