"""SIGRID-3 egg codes: concentration, stage of development, form of ice.

Ice services (CIS, NIC, DMI, MET Norway, ...) publish charts as polygons whose attributes
follow the WMO SIGRID-3 vector format (JCOMM Technical Report 23): the *egg code* of each
polygon is spread over the fields

=========  ================================================================
field      meaning
=========  ================================================================
``CT``     total concentration of the polygon
``CA``     partial concentration of the thickest ice type (``CB``, ``CC`` next)
``SA``     stage of development of that ice type (``SB``, ``SC``)
``FA``     form of ice (floe size) of that ice type (``FB``, ``FC``)
``POLY_TYPE``  ``I`` ice, ``W`` water, ``L`` land, ``S`` ice shelf, ``N`` no data
=========  ================================================================

Concentration codes (``CT``, ``CA``, ``CB``, ``CC``) and what this module makes of them
(``ct`` in 0-1; ``ct_low`` / ``ct_high`` the interval the code stands for):

==================  ======================  ==============  ================
code                meaning                 ``sigrid3``     ``ai4arctic``
==================  ======================  ==============  ================
``00`` (or ``55``)  ice free                0               0
``01``              open water, < 1/10      0.05 [0, 0.1]   0
``02``              bergy water, < 1/10     0.05 [0, 0.1]   0
``10`` ... ``90``   1/10 ... 9/10           0.1 ... 0.9     0.1 ... 0.9
``91``              9+/10 (9/10 to 10/10)   0.95 [0.9, 1]   1.0
``92``              10/10                   1.0             1.0
``ab``, a < b       a/10 to b/10 (``46``)   midpoint        midpoint
``a1``, a > 1       a/10 to 10/10 (``81``)  midpoint        midpoint
``-9``, ``99``, ''  not filled / unknown    NaN             NaN
==================  ======================  ==============  ================

The default ``convention="sigrid3"`` takes the midpoint of the coded interval throughout;
``convention="ai4arctic"`` follows the AutoICE challenge lookup (``01``/``02`` are water,
``91`` is full ice cover).  Codes may be strings (``"08"``) or integers (``8``, as in the
AI4Arctic ``polygon_codes`` table): integers below 10 stand for ``"0d"``.

The AutoICE classes of these codes are in [`xseaice.io.autoice`][].
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from xseaice.exceptions import IceChartError, InvalidArgumentError

__all__ = [
    "AI4ARCTIC_HEADER",
    "CODE_FIELDS",
    "FORM_CODES",
    "OUTPUT_COLUMNS",
    "STAGE_CODES",
    "Convention",
    "check_convention",
    "concentration_bounds",
    "decode_concentration",
    "decode_ct",
    "decode_form",
    "decode_stage",
]

logger = logging.getLogger(__name__)


Convention = Literal["sigrid3", "ai4arctic"]
_CONVENTIONS = ("sigrid3", "ai4arctic")

#: SIGRID-3 stage-of-development codes (SA, SB, SC, CN, CD).
STAGE_CODES: dict[int, str] = {
    55: "ice free",
    80: "no stage of development",
    81: "new ice",
    82: "nilas, ice rind",
    83: "young ice",
    84: "grey ice",
    85: "grey-white ice",
    86: "first-year ice",
    87: "thin first-year ice",
    88: "thin first-year ice, stage 1",
    89: "thin first-year ice, stage 2",
    91: "medium first-year ice",
    93: "thick first-year ice",
    95: "old ice",
    96: "second-year ice",
    97: "multi-year ice",
    98: "glacier ice",
    99: "undetermined / unknown",
}

#: SIGRID-3 form-of-ice (floe size) codes (FA, FB, FC, CF).
FORM_CODES: dict[int, str] = {
    1: "shuga / small ice cake, brash ice",
    2: "ice cake",
    3: "small floe",
    4: "medium floe",
    5: "big floe",
    6: "vast floe",
    7: "giant floe",
    8: "fast ice",
    9: "growlers, floebergs or floebits",
    10: "icebergs",
    21: "level ice",
    22: "pancake ice",
    99: "undetermined / unknown",
}


# canonical SIGRID-3 fields read from a chart
CODE_FIELDS = ("CT", "CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC")
AI4ARCTIC_HEADER = (
    "id",
    "CT",
    "CA",
    "SA",
    "FA",
    "CB",
    "SB",
    "FB",
    "CC",
    "SC",
    "FC",
    "CN",
    "CD",
    "CF",
    "POLY_TYPE",
)
OUTPUT_COLUMNS = (
    "ct",
    "ct_low",
    "ct_high",
    "ca",
    "cb",
    "cc",
    "sa",
    "sb",
    "sc",
    "fa",
    "fb",
    "fc",
    "sic_class",
    "sod_class",
    "floe_class",
    "poly_type",
)
_MISSING = frozenset({"", "-9", "-99", "-1", "nan", "none", "null", "na", "<na>"})


# ---------------------------------------------------------------------------------------
# code decoding
# ---------------------------------------------------------------------------------------


def _norm_code(code: Any) -> str | None:
    """Return a two-digit code string, or None for a missing / not-filled code."""
    if code is None:
        return None
    if isinstance(code, bytes):
        code = code.decode("ascii", "replace")
    if isinstance(code, (float, np.floating)):
        if math.isnan(code):
            return None
        if not float(code).is_integer():
            raise ValueError(f"not an integer code: {code!r}")
        code = int(code)
    if isinstance(code, (int, np.integer)):
        value = int(code)
        return None if value < 0 else f"{value:02d}"
    text = str(code).strip()
    if text.lower() in _MISSING or text.startswith("-"):
        return None
    if not text.isdigit():
        raise ValueError(f"not a numeric code: {code!r}")
    value = int(text)
    return f"{value:02d}"


def _ct_triplet(code: Any, convention: str) -> tuple[float, float, float]:
    """(value, low, high) of a concentration code; NaNs for missing; ValueError if bad."""
    text = _norm_code(code)
    nan = math.nan
    if text is None or text == "99":
        return nan, nan, nan
    if len(text) != 2:
        raise ValueError(f"concentration code {code!r} has more than two digits")
    if text in ("00", "55"):
        return 0.0, 0.0, 0.0
    if text in ("01", "02"):
        return (0.05 if convention == "sigrid3" else 0.0), 0.0, 0.1
    if text == "92":
        return 1.0, 1.0, 1.0
    a, b = int(text[0]), int(text[1])
    if b == 0:
        return a / 10.0, a / 10.0, a / 10.0
    if text == "91":
        return (0.95 if convention == "sigrid3" else 1.0), 0.9, 1.0
    if 1 <= a < b:
        low, high = a / 10.0, b / 10.0
    elif b == 1 and a > 1:
        low, high = a / 10.0, 1.0
    else:
        raise ValueError(f"{code!r} is not a SIGRID-3 concentration code")
    return round((low + high) / 2.0, 6), low, high


def check_convention(convention: str) -> None:
    """Raise InvalidArgumentError unless ``convention`` is ``"sigrid3"`` or ``"ai4arctic"``."""
    if convention not in _CONVENTIONS:
        raise InvalidArgumentError(
            f"convention={convention!r} is not known; expected one of {_CONVENTIONS}. "
            "Use 'sigrid3' (midpoints of coded intervals) or 'ai4arctic' (AutoICE lookup)."
        )


def decode_ct(code: Any, *, convention: Convention = "sigrid3") -> float:
    """Decode one SIGRID-3 concentration code (``CT``, ``CA``, ``CB``, ``CC``) to 0-1.

    Parameters
    ----------
    code : str, int, float or None
        The code as found in a chart (``"92"``, ``"46"``, ``8``, ``"-9"``...).
    convention : {"sigrid3", "ai4arctic"}
        How to read ``01``/``02`` (0.05 or 0) and ``91`` (0.95 or 1.0); see the module
        documentation for the whole table.

    Returns
    -------
    float
        The concentration as a fraction, NaN for a not-filled or unknown code.

    Raises
    ------
    IceChartError
        If ``code`` is not a SIGRID-3 concentration code.

    Examples
    --------
    >>> decode_ct("46"), decode_ct("91"), decode_ct("91", convention="ai4arctic")
    (0.5, 0.95, 1.0)
    """
    check_convention(convention)
    try:
        return _ct_triplet(code, convention)[0]
    except ValueError as exc:
        raise IceChartError(
            f"code={code!r} is not a SIGRID-3 concentration code ({exc}); expected 00, 01, "
            "02, 10..90, 91, 92, an interval such as 46 or 81, or -9/99 for missing."
        ) from None


def _unique_map(values: Any, func: Any, *, errors: str, what: str) -> tuple[np.ndarray, list[Any]]:
    """Apply ``func`` to each unique value of ``values`` and broadcast back."""
    if errors not in ("raise", "coerce"):
        raise InvalidArgumentError(f"errors={errors!r}; expected 'raise' or 'coerce'.")
    arr = np.asarray(values, dtype=object)
    flat = pd.Series(arr.reshape(-1), dtype=object)
    # NaN-safe keys: pandas factorize treats None and NaN as missing (-1)
    codes, uniques = pd.factorize(flat, use_na_sentinel=True)
    results = []
    bad = []
    for u in uniques:
        try:
            results.append(func(u))
        except ValueError:
            if errors == "raise":
                raise IceChartError(
                    f"{u!r} is not a valid SIGRID-3 {what} code; see xseaice.io.icechart for "
                    "the accepted codes, or pass errors='coerce' to read it as missing."
                ) from None
            bad.append(u)
            results.append(func(None))
    if bad:
        logger.warning("unknown SIGRID-3 %s codes read as missing: %s", what, sorted(map(str, bad)))
    missing = func(None)
    return np.asarray(codes), [*results, missing]


def decode_concentration(
    values: Any, *, convention: Convention = "sigrid3", errors: str = "coerce"
) -> np.ndarray:
    """Vectorised `decode_ct` over an array, list or pandas Series
    of codes.

    Parameters
    ----------
    values : array-like
        Concentration codes (strings, integers or NaN/None).
    convention : {"sigrid3", "ai4arctic"}
        See `decode_ct`.
    errors : {"coerce", "raise"}
        ``"coerce"`` reads an invalid code as NaN (with one log warning listing them);
        ``"raise"`` raises [`IceChartError`][xseaice.exceptions.IceChartError].

    Returns
    -------
    numpy.ndarray
        float64 fractions (0-1) with the shape of ``values``; NaN where missing.
    """
    check_convention(convention)
    shape = np.shape(values)
    codes, table = _unique_map(
        values, lambda c: _ct_triplet(c, convention), errors=errors, what="concentration"
    )
    lut = np.array([t[0] for t in table], dtype="float64")
    return lut[np.asarray(codes)].reshape(shape)


def concentration_bounds(values: Any, *, errors: str = "coerce") -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (0-1) of the interval each concentration code stands for.

    Parameters
    ----------
    values : array-like
        Concentration codes.
    errors : {"coerce", "raise"}
        See [`decode_concentration`][xseaice.io.sigrid3.decode_concentration].

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``low`` and ``high``; equal for exact codes (``30`` gives 0.3, 0.3), NaN if missing.
    """
    shape = np.shape(values)
    codes, table = _unique_map(
        values, lambda c: _ct_triplet(c, "sigrid3"), errors=errors, what="concentration"
    )
    idx = np.asarray(codes)
    low = np.array([t[1] for t in table], dtype="float64")[idx].reshape(shape)
    high = np.array([t[2] for t in table], dtype="float64")[idx].reshape(shape)
    return low, high


def _int_code(code: Any, known: dict[int, str]) -> int:
    text = _norm_code(code)
    if text is None:
        return -1
    value = int(text)
    if value == 99:  # "undetermined": keep, it is a real SIGRID-3 value
        return 99
    if value not in known:
        raise ValueError(code)
    return value


def decode_stage(values: Any, *, errors: str = "coerce") -> np.ndarray:
    """SIGRID-3 stage-of-development codes (``SA``, ``SB``, ``SC``) as integers.

    Parameters
    ----------
    values : array-like
        Codes such as ``"87"``, ``93``, ``"-9"``.
    errors : {"coerce", "raise"}
        See [`decode_concentration`][xseaice.io.sigrid3.decode_concentration].

    Returns
    -------
    numpy.ndarray
        int16 codes from `STAGE_CODES`; -1 where not filled
        (``-9``, empty).
    """
    shape = np.shape(values)
    codes, table = _unique_map(
        values, lambda c: _int_code(c, STAGE_CODES), errors=errors, what="stage"
    )
    return np.asarray(table, dtype="int16")[np.asarray(codes)].reshape(shape)


def decode_form(values: Any, *, errors: str = "coerce") -> np.ndarray:
    """SIGRID-3 form-of-ice (floe size) codes (``FA``, ``FB``, ``FC``) as integers.

    Parameters
    ----------
    values : array-like
        Codes such as ``"08"``, ``4``, ``"-9"``.
    errors : {"coerce", "raise"}
        See [`decode_concentration`][xseaice.io.sigrid3.decode_concentration].

    Returns
    -------
    numpy.ndarray
        int16 codes from `FORM_CODES`; -1 where not filled.
    """
    shape = np.shape(values)
    codes, table = _unique_map(
        values, lambda c: _int_code(c, FORM_CODES), errors=errors, what="form"
    )
    return np.asarray(table, dtype="int16")[np.asarray(codes)].reshape(shape)
