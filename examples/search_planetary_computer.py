"""Search Planetary Computer (Sentinel-1) and NASA CMR (AMSR-2) for a place and date.

Needs the network; AMSR-2 downloads need an Earthdata login in ``~/.netrc`` or
``EARTHDATA_TOKEN``.  Run: ``python examples/search_planetary_computer.py``.
"""

from __future__ import annotations

import xseaice

result = xseaice.search(
    bbox=(-20.0, 78.0, 0.0, 81.0),
    datetime="2023-01-04",
    catalog={"sentinel-1": "planetary-computer", "amsr2": "cmr"},
)
print(result)
ds = xseaice.load(result, resolution=40)
print(ds)
