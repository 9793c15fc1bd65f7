"""The one lookup of a chart's concentration per polygon.

Analytical Logit Scaling with ``preserve=chart`` ([`xseaice.products.als.scale_logits`][])
and the zonal statistics ([`xseaice.products.zonal.concentration`][]) both read each
polygon's total concentration through
[`chart_concentration`][xseaice.products.regions.chart_concentration], so both accept the same
charts: one read by [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart] (``ct``,
``ct_low``, ``ct_high``, 0-1), a table with SIGRID-3 ``CT`` codes, or any 0-1 column named by
``column``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from xseaice.exceptions import IceChartError, InvalidArgumentError

__all__ = ["ChartConcentration", "chart_concentration"]


@dataclass(frozen=True)
class ChartConcentration:
    """Concentration (0-1) per chart row: the value and the interval its code stands for.

    ``value``, ``low`` and ``high`` are float64 arrays with one entry per row, NaN where
    the chart gives no concentration; ``low == high == value`` for exact values.
    ``source`` names the column read.
    """

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    source: str


def _numeric(chart: Any, name: str) -> np.ndarray:
    import pandas as pd

    return np.asarray(pd.to_numeric(chart[name], errors="coerce"), dtype="float64")


Convention = Literal["sigrid3", "ai4arctic"]


def _from_codes(chart: Any, name: str, convention: Convention) -> ChartConcentration:
    from xseaice.io.icechart import concentration_bounds, decode_concentration

    value = np.asarray(decode_concentration(chart[name], convention=convention), dtype="float64")
    if convention == "sigrid3":
        low, high = concentration_bounds(chart[name])
    else:
        low, high = value, value
    return ChartConcentration(value, np.asarray(low, "float64"), np.asarray(high, "float64"), name)


def chart_concentration(
    chart: Any,
    *,
    column: str | None = None,
    convention: Convention = "sigrid3",
) -> ChartConcentration:
    """Each chart polygon's total concentration (0-1) and the interval it stands for.

    Parameters
    ----------
    chart : pandas.DataFrame or geopandas.GeoDataFrame
        The chart's polygons.
    column : str, optional
        A 0-1 concentration column.  Default: ``ct`` (with ``ct_low`` / ``ct_high`` when
        present, as [`xseaice.read_icechart`][xseaice.io.icechart.read_icechart] writes them), else
        the SIGRID-3 ``CT`` codes decoded with [`xseaice.io.sigrid3.decode_concentration`][].
    convention : {"sigrid3", "ai4arctic"}
        How ``CT`` codes are read.

    Returns
    -------
    ChartConcentration
        ``value``, ``low``, ``high`` per row (NaN where unknown) and the column read.

    Raises
    ------
    IceChartError
        ``column`` is not in the chart, or the chart has neither ``ct`` nor ``CT``.
    InvalidArgumentError
        A concentration outside 0-1 (e.g. percentages).

    Examples
    --------
    >>> import pandas as pd
    >>> c = chart_concentration(pd.DataFrame({"CT": ["30", "13", None]}))
    >>> c.value.tolist()[:2], c.low.tolist()[:2], c.high.tolist()[:2]
    ([0.3, 0.2], [0.3, 0.1], [0.3, 0.3])
    """
    columns = [str(c) for c in chart.columns]
    if column is not None:
        if column not in chart.columns:
            raise IceChartError(
                f"column={column!r} is not a column of the chart; its columns are {columns}. "
                "Pass the name of the 0-1 concentration column (read_icechart adds 'ct') or "
                "leave column=None."
            )
        value = _numeric(chart, column)
        out = ChartConcentration(value, value, value, column)
    elif "ct" in chart.columns:
        value = _numeric(chart, "ct")
        has_bounds = "ct_low" in chart.columns and "ct_high" in chart.columns
        low = _numeric(chart, "ct_low") if has_bounds else value
        high = _numeric(chart, "ct_high") if has_bounds else value
        out = ChartConcentration(value, low, high, "ct")
    elif "CT" in chart.columns:
        out = _from_codes(chart, "CT", convention)
    else:
        raise IceChartError(
            f"the chart has neither a 'ct' (0-1) nor a 'CT' (SIGRID-3 code) column (it has "
            f"{columns}); read it with xseaice.read_icechart or pass column='<0-1 column>'."
        )
    v = out.value
    bad = np.isfinite(v) & ((v < 0) | (v > 1))
    if bad.any():
        raise InvalidArgumentError(
            f"the chart's concentration column {out.source!r} holds values outside 0-1 "
            f"(e.g. {v[bad][:3].tolist()}); expected fractions. Divide percentages by 100, "
            "or use read_icechart's 'ct'."
        )
    return out
