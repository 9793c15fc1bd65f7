"""Another SAR look at the same ice, without drift: new speckle, new wind, later time.

The zero-drift special case of a repeat acquisition (the drifting one is
[`xseaice.synthetic.drift`][]), used to test multi-pass combination on its own.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr

from xseaice.synthetic.scene import SyntheticScene
from xseaice.synthetic.sensors import simulate_sar
from xseaice.synthetic.world import make_truth
from xseaice.variables import sigma0_to_db

__all__ = ["relook"]


def relook(
    scene: SyntheticScene, *, seed: int, hours: float = 12.0, wind_speed: float | None = None
) -> xr.Dataset:
    """Simulate HH/HV of ``scene``'s ice again, ``hours`` later, with independent noise.

    Parameters
    ----------
    scene : SyntheticScene
        From [`xseaice.synthetic.make_scene`][xseaice.synthetic.scene.make_scene] (its truth is
        recomputed from its seed).
    seed : int
        Seed of the new look's speckle, noise and wind field.
    hours : float
        Time after the scene.
    wind_speed : float, optional
        Mean wind (m/s) of the new look; default a draw between 2 and 12 m/s.

    Returns
    -------
    xarray.Dataset
        ``hh``, ``hv`` (dB) and ``incidence_angle`` on the scene grid at the new time.
    """
    ss = np.random.SeedSequence(int(scene.seed))
    r_truth = np.random.default_rng(ss.spawn(5)[1])
    ny, nx = scene.truth["ice"].shape
    x = np.asarray(scene.truth["x"].values)
    pixel = float(abs(x[1] - x[0]))
    rng = np.random.default_rng([int(seed), 16])
    wind = float(rng.uniform(2.0, 12.0)) if wind_speed is None else float(wind_speed)
    p = dataclasses.replace(scene.params, wind_speed=wind)
    truth = make_truth(r_truth, (ny, nx), pixel, p)
    th0, th1 = p.incidence_range
    incidence = th0 + (th1 - th0) * (np.arange(nx) + 0.5) / nx
    hh, hv, _, _ = simulate_sar(rng, truth, incidence, pixel, p)
    ds = scene.dataset[["hh", "hv", "incidence_angle"]].copy(deep=True)
    ds["hh"].values[0] = sigma0_to_db(hh).astype(np.float32)
    ds["hv"].values[0] = sigma0_to_db(hv).astype(np.float32)
    t = pd.Timestamp(np.asarray(ds["time"].values)[0]) + pd.Timedelta(hours=hours)
    return ds.assign_coords(time=[np.datetime64(t, "ns")])
