"""Altimetry with SAR: co-location of tracks with scenes, SAR-guided densification, baselines.

Modules: :mod:`~xseaice.altimetry.colocate` (points onto a scene grid, time window, drift),
:mod:`~xseaice.altimetry.features` (SAR evidence and the regression basis),
:mod:`~xseaice.altimetry.densify` (:func:`densify`), :mod:`~xseaice.altimetry.baselines`
(nearest track, inverse distance, ordinary kriging) and :mod:`~xseaice.altimetry.multipass`.
"""

from __future__ import annotations

from xseaice.altimetry.densify import densify

__all__ = ["densify"]
