"""Products from logits: probabilities, binary maps, topology, statistics per polygon, files.

* :mod:`~xseaice.products.percentiles` - streaming percentiles of dask arrays;
* :mod:`~xseaice.products.als` - Analytical Logit Scaling (``scale_logits``);
* :mod:`~xseaice.products.regions` - ``chart_concentration``, the one chart-CT lookup;
* :mod:`~xseaice.products.topology` - ``binarize``, floes, leads, floe sizes (labels
  across dask blocks in :mod:`~xseaice.products.labels`);
* :mod:`~xseaice.products.zonal` - ``concentration`` per polygon;
* :mod:`~xseaice.products.writers` - COG and table writers.

The functions are reached through their modules (``xseaice.products.als.scale_logits``)
or the top level (``xseaice.scale_logits``); this package re-exports nothing, so no
function shadows a module of the same name (``topology``).
"""
