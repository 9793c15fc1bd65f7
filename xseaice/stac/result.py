"""The result of [`xseaice.search`][xseaice.stac.searching.search]: items grouped per sensor.

[`SearchResult`][xseaice.stac.result.SearchResult] holds plain `pystac.Item` lists (Sentinel-1
GRD, AMSR-2 L3, ICESat-2 granules), prints as a table (and as HTML in a notebook), and
remembers the catalog each sensor came from, so that
[`xseaice.load`][xseaice.stac.loading.load] can sign asset URLs when it reads them.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from xseaice.io.urls import redact_url
from xseaice.stac.catalogs import Catalog
from xseaice.stac.items import BBox, item_mode, item_orbit, item_polarizations, item_time

__all__ = ["SearchResult"]


@dataclass
class SearchResult:
    """Items found by [`search`][xseaice.stac.searching.search], grouped per sensor.

    Attributes
    ----------
    sentinel1 : list of pystac.Item
        Sentinel-1 GRD items, sorted by time.
    amsr2 : list of pystac.Item
        AMSR-2 L3 items of the same days, sorted by time.
    icesat2 : list of pystac.Item
        ICESat-2 granules (ATL10 by default) whose ground track crosses the Sentinel-1
        footprints (or the searched box) in the searched time window, sorted by time
        (``sensors=[..., "icesat2"]``); read them with
        [`read_altimetry`][xseaice.io.altimetry.read_altimetry].
    bbox : tuple or None
        The searched ``(west, south, east, north)``.
    datetime : (datetime, datetime)
        The searched interval (UTC, inclusive; None = open).
    mode : str
        Sentinel-1 acquisition mode.
    polarizations : tuple of str
        Polarisations every Sentinel-1 item carries.
    catalogs : dict
        Sensor -> the `Catalog` it was found in (used by
        [`xseaice.load`][xseaice.stac.loading.load] to sign asset URLs when they are read).
    signed : bool
        True when the items' asset hrefs are already signed (``search(..., sign=True)``);
        [`xseaice.load`][xseaice.stac.loading.load] then reads them as they are.
    """

    sentinel1: list[Any] = field(default_factory=list)
    amsr2: list[Any] = field(default_factory=list)
    icesat2: list[Any] = field(default_factory=list)
    bbox: BBox | None = None
    datetime: tuple[_dt.datetime | None, _dt.datetime | None] = (None, None)
    mode: str = "EW"
    polarizations: tuple[str, ...] = ("HH", "HV")
    catalogs: dict[str, Catalog] = field(default_factory=dict)
    signed: bool = False

    def __len__(self) -> int:
        return len(self.sentinel1) + len(self.amsr2) + len(self.icesat2)

    def __iter__(self) -> Iterator[Any]:
        yield from self.sentinel1
        yield from self.amsr2
        yield from self.icesat2

    @property
    def items(self) -> list[Any]:
        """All items: Sentinel-1, then AMSR-2, then ICESat-2."""
        return list(self)

    @property
    def dates(self) -> list[_dt.date]:
        """The distinct UTC days of the Sentinel-1 items."""
        return sorted({item_time(i).date() for i in self.sentinel1})

    def catalog_for(self, sensor: str) -> Catalog | None:
        """The catalog a sensor's items came from (None if unknown)."""
        return self.catalogs.get(sensor)

    def rows(self) -> list[dict[str, str]]:
        """One dict per item: sensor, id, time, mode, polarizations, orbit."""
        rows = []
        groups = (
            ("sentinel-1", self.sentinel1),
            ("amsr2", self.amsr2),
            ("icesat2", self.icesat2),
        )
        for sensor, items in groups:
            for it in items:
                rows.append(
                    {
                        "sensor": sensor,
                        "id": it.id,
                        "time": item_time(it).strftime("%Y-%m-%d %H:%M:%S"),
                        "mode": item_mode(it) or "-",
                        "polarizations": "+".join(item_polarizations(it)) or "-",
                        "orbit": item_orbit(it) if sensor == "sentinel-1" else "-",
                    }
                )
        return rows

    def _header(self) -> str:
        names = sorted({c.name for c in self.catalogs.values()})
        where = ", ".join(redact_url(n) for n in names) or "?"
        return (
            f"SearchResult: {len(self.sentinel1)} Sentinel-1 {self.mode} "
            f"{'+'.join(self.polarizations)} item(s), {len(self.amsr2)} AMSR-2 item(s)"
            + (f", {len(self.icesat2)} ICESat-2 granule(s)" if self.icesat2 else "")
            + f" from {where}"
        )

    def __repr__(self) -> str:
        cols = ("sensor", "id", "time", "mode", "polarizations", "orbit")
        rows = self.rows()
        widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in cols}
        lines = [self._header()]
        if rows:
            lines.append("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
            lines.append("  ".join("-" * widths[c] for c in cols))
            lines.extend("  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows)
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        cols = ("sensor", "id", "time", "mode", "polarizations", "orbit")
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in cols) + "</tr>"
            for r in self.rows()
        )
        return (
            f"<div><p>{html.escape(self._header())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )
