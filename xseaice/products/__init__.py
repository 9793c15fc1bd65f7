"""Products from logits: probabilities, binary maps, topology, statistics per polygon, files.

* [`percentiles`][xseaice.products.percentiles] - streaming percentiles of dask arrays;
* [`als`][xseaice.products.als] - Analytical Logit Scaling (``scale_logits``);
* [`regions`][xseaice.products.regions] - ``chart_concentration``, the one chart-CT lookup;
* [`topology`][xseaice.products.topology] - ``binarize``, floes, leads, floe sizes (labels
  across dask blocks in [`labels`][xseaice.products.labels]);
* [`zonal`][xseaice.products.zonal] - ``concentration`` per polygon;
* [`writers`][xseaice.products.writers] - COG and table writers.

The functions are reached through their modules (``xseaice.products.als.scale_logits``)
or the top level (``xseaice.scale_logits``); this package re-exports nothing, so no
function shadows a module of the same name (``topology``).
"""
