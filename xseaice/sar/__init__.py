"""SAR image processing between acquisitions: ice drift, warping between dates, despeckling.

- [`xseaice.sar.drift.drift`][]: displacement of the ice from one scene to another;
- [`xseaice.sar.warp.warp`][] / [`warp_points`][xseaice.sar.warp.warp_points]: a scene or
  altimeter points moved onto another time along a drift field;
- [`xseaice.sar.despeckle.despeckle`][]: boxcar, Lee, refined Lee and (optional extra)
  SAR2SAR speckle filters.

Each module is named after the function it owns, so the package does not re-export the
functions (a submodule import would replace them by the module): import them from their
modules (``from xseaice.sar.drift import drift``) or use the top-level ``xseaice.drift``,
``xseaice.warp`` and ``xseaice.despeckle``.
"""
