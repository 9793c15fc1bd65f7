"""AutoICE classes (SIC, SOD, FLOE) of SIGRID-3 egg codes.

The AutoICE classes (``sic_class``, ``sod_class``, ``floe_class``; uint8, 255 = undefined)
follow the AI4Arctic / AutoICE challenge conversion: SIC is the tenth of ``CT`` (0-10);
stage of development and floe size are those of the *dominant* partial ice type, i.e. the
class whose summed partial concentration is at least 70 % (SOD) or 50 % (FLOE) of the total
concentration; a missing ``CA`` means one ice type holds the whole ``CT``; fast ice in any
partial makes the FLOE class undefined; water polygons (SIC class 0) are class 0 in all
three.  One deliberate difference from the challenge script: when all three partials share
a class, their concentrations are all summed (the script summed only A and C).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xseaice.io.sigrid3 import (
    decode_concentration,
    decode_form,
    decode_stage,
)

__all__ = [
    "AUTOICE_FLOE_CLASSES",
    "AUTOICE_SOD_CLASSES",
    "FLOE_THRESHOLD",
    "SOD_THRESHOLD",
    "UNDEFINED",
    "autoice_classes",
]

#: AutoICE stage-of-development classes.
AUTOICE_SOD_CLASSES: dict[int, str] = {
    0: "open water",
    1: "new ice",
    2: "young ice",
    3: "thin first-year ice",
    4: "thick first-year ice",
    5: "old ice",
}

#: AutoICE floe-size classes.
AUTOICE_FLOE_CLASSES: dict[int, str] = {
    0: "open water",
    1: "cake ice",
    2: "small floe",
    3: "medium floe",
    4: "big floe",
    5: "vast floe",
    6: "bergs",
}

#: Share of the total concentration the dominant stage must hold (AutoICE).
SOD_THRESHOLD: float = 0.7
#: Share of the total concentration the dominant floe size must hold (AutoICE).
FLOE_THRESHOLD: float = 0.5

UNDEFINED: int = 255

# SIGRID-3 stage code -> AutoICE SOD class (255 = no class)
_SOD_LOOKUP: dict[int, int] = {
    0: 0,
    55: 0,
    80: 0,
    81: 1,
    82: 1,
    83: 2,
    84: 2,
    85: 2,
    86: 4,
    87: 3,
    88: 3,
    89: 3,
    91: 4,
    93: 4,
    95: 5,
    96: 5,
    97: 5,
    98: UNDEFINED,
    99: UNDEFINED,
}

# SIGRID-3 form code -> AutoICE FLOE class (255 = no class)
_FLOE_LOOKUP: dict[int, int] = {
    0: 0,
    1: UNDEFINED,
    2: 1,
    3: 2,
    4: 3,
    5: 4,
    6: 5,
    7: 5,
    8: UNDEFINED,
    9: 6,
    10: 6,
    21: UNDEFINED,
    22: UNDEFINED,
    99: UNDEFINED,
}
# form codes whose presence in any partial leaves FLOE undefined (AutoICE)
_NOT_A_FLOE = frozenset({1, 8, 21, 22})


def _tenths(frac: np.ndarray) -> np.ndarray:
    """Fractions to integer tenths (round half up), -1 where NaN."""
    out = np.full(frac.shape, -1, dtype="int16")
    ok = np.isfinite(frac)
    out[ok] = np.floor(frac[ok] * 10.0 + 0.5 + 1e-9).astype("int16")
    return out


def _dominant(
    partial_tenths: np.ndarray,
    partial_class: np.ndarray,
    total_tenths: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """Class of the dominant partial (summed per class); 255 when none dominates."""
    n = partial_tenths.shape[0]
    out = np.full(n, UNDEFINED, dtype="uint8")
    for i in range(n):
        total = int(total_tenths[i])
        if total <= 0:
            continue
        sums: dict[int, int] = {}
        order: list[int] = []
        for j in range(partial_tenths.shape[1]):
            conc = int(partial_tenths[i, j])
            if conc < 0:
                continue
            cls = int(partial_class[i, j])
            if cls not in sums:
                order.append(cls)
                sums[cls] = 0
            sums[cls] += conc
        if not sums:
            continue
        best = max(order, key=lambda c: (sums[c], -order.index(c)))
        if sums[best] / total >= threshold - 1e-9:
            out[i] = best
    return out


def autoice_classes(
    ct: Any,
    ca: Any = None,
    cb: Any = None,
    cc: Any = None,
    sa: Any = None,
    sb: Any = None,
    sc: Any = None,
    fa: Any = None,
    fb: Any = None,
    fc: Any = None,
    *,
    poly_type: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AutoICE SIC / SOD / FLOE classes of polygons from their SIGRID-3 codes.

    Parameters
    ----------
    ct, ca, cb, cc : array-like
        Concentration codes (raw SIGRID-3, e.g. ``"91"``); ``None`` for an absent field.
    sa, sb, sc : array-like
        Stage-of-development codes.
    fa, fb, fc : array-like
        Form-of-ice codes.
    poly_type : array-like, optional
        SIGRID-3 ``POLY_TYPE``; ``"W"`` forces SIC class 0.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        uint8 ``sic_class`` (0-10), ``sod_class`` (0-5,
        `AUTOICE_SOD_CLASSES`) and ``floe_class`` (0-6,
        `AUTOICE_FLOE_CLASSES`); 255 where undefined.

    Examples
    --------
    >>> sic, sod, floe = autoice_classes(["92"], ["-9"], sa=["93"], fa=["05"])
    >>> int(sic[0]), int(sod[0]), int(floe[0])
    (10, 4, 4)
    """
    ct_arr = np.atleast_1d(np.asarray(ct, dtype=object))
    n = ct_arr.shape[0]

    def col(v: Any) -> np.ndarray:
        if v is None:
            return np.full(n, None, dtype=object)
        return np.atleast_1d(np.asarray(v, dtype=object))

    ct_frac = decode_concentration(ct_arr, convention="ai4arctic")
    total = _tenths(ct_frac)
    if poly_type is not None:
        pt = np.array([str(p).strip().upper() for p in col(poly_type)])
        total = np.where((pt == "W") & (total < 0), 0, total).astype("int16")
    sic = np.where(total >= 0, np.clip(total, 0, 10), UNDEFINED).astype("uint8")

    partial = np.stack(
        [_tenths(decode_concentration(col(c), convention="ai4arctic")) for c in (ca, cb, cc)],
        axis=1,
    )
    stages = np.stack([decode_stage(col(s)) for s in (sa, sb, sc)], axis=1)
    forms = np.stack([decode_form(col(f)) for f in (fa, fb, fc)], axis=1)
    # a missing CA with a filled CT: one ice type holds the whole CT
    fill = (partial[:, 0] < 0) & (total > 0)
    partial[fill, 0] = total[fill]
    # a partial with a concentration counts even without a stage/form (as undefined)
    sod_cls = np.vectorize(lambda s: _SOD_LOOKUP.get(int(s), UNDEFINED), otypes=["int16"])(stages)
    floe_cls = np.vectorize(lambda f: _FLOE_LOOKUP.get(int(f), UNDEFINED), otypes=["int16"])(forms)
    sod = _dominant(partial, sod_cls, total, SOD_THRESHOLD)
    floe = _dominant(partial, floe_cls, total, FLOE_THRESHOLD)
    # AutoICE: a form that is not a floe size (fast ice, level ice, pancake, shuga) in any
    # partial leaves the polygon without a FLOE class
    floe[np.isin(forms, list(_NOT_A_FLOE)).any(axis=1)] = UNDEFINED
    water = sic == 0
    sod[water] = 0
    floe[water] = 0
    return sic, sod, floe
