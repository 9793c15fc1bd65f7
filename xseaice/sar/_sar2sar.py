"""SAR2SAR despeckling through the project's tiling engine (optional ``deepdespeckling``).

SAR2SAR (Dalsasso, Denis and Tupin, 2021) is a U-Net trained without clean references
on Sentinel-1 images; its weights and model class ship in the MIT-licensed
``deepdespeckling`` package.  Nothing is downloaded: the weights are read from the
installed package, checked against a known sha256 and loaded with
``torch.load(weights_only=True)``.

The network works on a normalised log-amplitude, ``(ln A - m) / (M - m)`` with the
package's constants ``m``, ``M``, and returns the despeckled normalised log-amplitude.
Its training amplitudes are raw digital numbers, so sigma0 is mapped to that range with
``A = 1000 sqrt(sigma0)`` (-35 to 0 dB become ``ln A`` of 2.9 to 6.9, inside
``[m, M] = [-1.43, 10.09]``).  In dB this is an affine map, so the engine's per-variable
normalisation ``(x - mean) / std`` does it exactly, and the wrapper converts the output
back to dB.  The network was trained on single-look images; EW GRDM has about ten looks,
so its effect is measured, not assumed (``benchmarks/bench_despeckle.py``).
"""

from __future__ import annotations

import hashlib
import logging
import math
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from xseaice.exceptions import WeightsError

__all__ = ["SAR2SAR_SHA256", "Sar2SarDb", "load_sar2sar", "sar2sar"]

logger = logging.getLogger(__name__)

#: sha256 of ``deepdespeckling/sar2sar/saved_model/sar2sar.pth`` in deepdespeckling 0.8.
SAR2SAR_SHA256 = "203cac967c5486785d79b3fbe86914fbc5bb0bdafcb4eaea3b348d3788530415"
_M = 10.089038980848645  # deepdespeckling.utils.constants.M
_m = -1.429329123112601  # deepdespeckling.utils.constants.m
_AMPLITUDE_SCALE = 1000.0
_DB_PER_LN_AMPLITUDE = 20.0 / math.log(10.0)
#: Halo (pixels) for seam-free tiles: the network's measured reach rounded up to 32.
SAR2SAR_HALO = 160
_SIZE_MULTIPLE = 32
_TILE = 512
_EXTRA = "pip install xseaice[despeckle]"


def _weights_path() -> Any:
    try:
        import importlib.resources as resources

        root = resources.files("deepdespeckling")
    except ImportError as err:
        raise ImportError(
            f"despeckle(method='sar2sar') needs the optional deepdespeckling package; install "
            f"it with `{_EXTRA}` (or use method='refined_lee', which needs nothing extra)"
        ) from err
    return root / "sar2sar" / "saved_model" / "sar2sar.pth"


@lru_cache(maxsize=1)
def load_sar2sar() -> nn.Module:
    """The SAR2SAR network with its shipped weights, wrapped for the tiling engine.

    Returns
    -------
    torch.nn.Module
        Maps ``(N, 1, H, W)`` normalised log-amplitude to despeckled sigma0 in dB;
        ``H``, ``W`` multiples of 32.

    Raises
    ------
    ImportError
        If ``deepdespeckling`` (or torch) is not installed.
    WeightsError
        If the shipped weights file is missing or its sha256 differs.
    """
    path = _weights_path()
    from deepdespeckling.model import Model

    if not path.is_file():
        raise WeightsError(
            f"the deepdespeckling package has no SAR2SAR weights at {path}; reinstall it ({_EXTRA})"
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SAR2SAR_SHA256:
        raise WeightsError(
            f"SAR2SAR weights {path} have sha256 {digest}, expected {SAR2SAR_SHA256} "
            "(deepdespeckling 0.8); reinstall the package: "
            "pip install --force-reinstall deepdespeckling==0.8"
        )
    import io

    # the checkpoint stores numpy scalars next to the tensors; allow just those
    scalar = (np._core.multiarray.scalar, "numpy.core.multiarray.scalar")
    with torch.serialization.safe_globals([scalar, np.dtype, type(np.dtype("float64"))]):
        ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    net = Model(torch.device("cpu"), height=_SIZE_MULTIPLE, width=_SIZE_MULTIPLE)
    net.load_state_dict(ckpt["model_state_dict"])
    return Sar2SarDb(net).eval()


class Sar2SarDb(nn.Module):
    """deepdespeckling's SAR2SAR ``Model`` for batches of any size, output in dB.

    Parameters
    ----------
    net : torch.nn.Module
        A ``deepdespeckling.model.Model`` with the SAR2SAR weights loaded.
    """

    size_multiple = _SIZE_MULTIPLE
    receptive_halo = SAR2SAR_HALO

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Despeckle ``(N, 1, H, W)`` normalised log-amplitude; return sigma0 in dB."""
        outs = []
        for i in range(x.shape[0]):  # the package's forward reshapes to a single image
            setattr(self.net, "height", int(x.shape[-2]))  # noqa: B010 (plain int attributes)
            setattr(self.net, "width", int(x.shape[-1]))  # noqa: B010
            outs.append(self.net(x[i : i + 1].float()))
        y = torch.cat(outs).reshape(x.shape)
        ln_a = y.clamp(min=0.0) * (_M - _m) + _m
        return (ln_a - math.log(_AMPLITUDE_SCALE)) * _DB_PER_LN_AMPLITUDE


def _spec(pixel_size: float) -> Any:
    from xseaice.models import WeightsSpec

    # dB -> (ln A - m) / (M - m) with ln A = ln 1000 + dB / (20 / ln 10): affine in dB
    mean = (_m - math.log(_AMPLITUDE_SCALE)) * _DB_PER_LN_AMPLITUDE
    std = (_M - _m) * _DB_PER_LN_AMPLITUDE
    return WeightsSpec(
        name="sar2sar",
        architecture="deepdespeckling.sar2sar",
        arch_kwargs={},
        variables=("sigma0",),
        normalisation={"sigma0": (mean, std)},
        pixel_size=pixel_size,
        outputs={"ice_logit": None},
        licence="MIT (deepdespeckling)",
        description="SAR2SAR despeckling network (Dalsasso et al. 2021), output in dB",
        sha256=SAR2SAR_SHA256,
        filename="sar2sar.pth",
    )


def _run_tiled(ds: xr.Dataset, module: nn.Module, spec: Any) -> xr.DataArray:
    """The one call into the tiling engine (moves with it: change this import only)."""
    from xseaice.inference import segment

    out = segment(ds, (module, spec), tile=_TILE, overlap=SAR2SAR_HALO, precision="fp32")
    assert isinstance(out, xr.DataArray)
    return out


def sar2sar(var: xr.DataArray) -> xr.DataArray:
    """Despeckle one backscatter DataArray with SAR2SAR (lazy, seam-free tiles).

    Parameters
    ----------
    var : xarray.DataArray
        Sigma0 in dB (``units="dB"``) or linear power, dims ``(y, x)`` or ``(time, y, x)``.

    Returns
    -------
    xarray.DataArray
        Despeckled backscatter in the input's units, same dims and coordinates.
    """
    db = str(var.attrs.get("units", "")).lower() == "db"
    x = var if db else 10.0 * np.log10(var.where(var > 0))
    pixel = abs(float(var.x[1] - var.x[0])) if var.sizes["x"] > 1 else 40.0
    module = load_sar2sar()
    out = _run_tiled(xr.Dataset({"sigma0": x.astype(np.float32)}), module, _spec(pixel))
    out = out if db else 10.0 ** (out / 10.0)
    res = var.copy(data=out.transpose(*var.dims).data)
    res.attrs = {**var.attrs, "despeckle": "sar2sar (deepdespeckling 0.8 weights)"}
    return res
