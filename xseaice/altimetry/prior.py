"""A learned prior for densify: SAR evidence to elevation, trained on past colocations.

One altimeter pass gives densify a few dozen CryoSat-2 footprints: too few to learn how
backscatter, texture and floe size map to freeboard in a new scene.  Many past passes over
many scenes are not.  ``DensifyPrior.fit`` learns that mapping from *altimeter points*
(never from a dense truth) over a set of scenes: a small multilayer perceptron on the
per-pixel SAR features of [`xseaice.altimetry.features.sar_features`][], trained so that
its prediction averaged over each footprint (CryoSat-2's 1.6 km, ICESat-2's pixel) matches
the point.  ``densify(..., prior=model.predict(ds, ice))`` then corrects the prior's scale
and level with the scene's own points and kriges what it misses.

The model is a few thousand numbers; ``save``/``load`` use safetensors (no pickle) with
the feature names and the value in its metadata, and ``load`` checks an expected sha256
when given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from xseaice.altimetry.colocate import colocate, lead_map, scene_grid, usable_points
from xseaice.altimetry.features import footprint_pixels, sar_features
from xseaice.exceptions import InvalidArgumentError, WeightsError
from xseaice.io.atomic import atomic_path

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DensifyPrior"]

_FORMAT = "xseaice-densify-prior/1"
#: Pixels per block when predicting (bounded memory on a full EW scene)
_BLOCK = 1_000_000


def _ice(scene_ds: xr.Dataset, ice: xr.DataArray | np.ndarray | None) -> np.ndarray:
    ice_map, _ = lead_map(scene_ds, ice)
    if ice_map is None:
        raise InvalidArgumentError(
            "the prior needs a floe/lead map: pass ice= (0/1 on the scene grid, e.g. "
            "prob.seaice.binarize()) or give the scene an 'ice' variable"
        )
    return ice_map


def _feature_stack(feats: dict[str, np.ndarray], names: Sequence[str]) -> list[np.ndarray]:
    if missing := [n for n in names if n not in feats]:
        raise InvalidArgumentError(
            f"the scene lacks the prior's features {missing}: the prior was trained on "
            f"{list(names)}; give the scene 'incidence_angle' and an ice map"
        )
    return [feats[n] for n in names]


@dataclass
class DensifyPrior:
    """A multilayer perceptron from per-pixel SAR features to an elevation value.

    Attributes
    ----------
    value : str
        The column it predicts (``"freeboard"``: ICESat-2 total freeboard, or CryoSat-2
        radar freeboard: train one prior per mission).
    feature_names : tuple of str
        The [`sar_features`][xseaice.altimetry.features.sar_features] it reads.
    mu, sd : numpy.ndarray
        Standardization of the features (over the training pixels).
    layers : list of (numpy.ndarray, numpy.ndarray)
        Weights ``(out, in)`` and biases of each layer; ReLU between, softplus at the
        end (a freeboard is not negative).
    n_points : int
        Training points it was fitted on.
    """

    value: str
    feature_names: tuple[str, ...]
    mu: np.ndarray
    sd: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]
    n_points: int

    def _forward(self, z: np.ndarray) -> np.ndarray:
        h = z
        for k, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if k < len(self.layers) - 1:
                np.maximum(h, 0.0, out=h)
        return np.logaddexp(0.0, h[:, 0])  # softplus

    def predict(
        self, scene_ds: xr.Dataset, ice: xr.DataArray | np.ndarray | None = None
    ) -> xr.DataArray:
        """The prior's map of ``value`` on a scene (0 on water, float32).

        Parameters
        ----------
        scene_ds : xarray.Dataset
            ``hh``, ``hv`` (dB), ``incidence_angle``, x/y coordinates.
        ice : xarray.DataArray or numpy.ndarray, optional
            0/1 floe/lead map on the scene grid (default: the scene's ``ice``).

        Returns
        -------
        xarray.DataArray
            ``(y, x)`` named ``value`` with ``long_name`` and ``units`` attributes.

        Raises
        ------
        InvalidArgumentError
            Without an ice map, or when the scene lacks one of the prior's features.
        """
        x, _, _ = scene_grid(scene_ds)
        ice_map = _ice(scene_ds, ice)
        feats = sar_features(scene_ds, ice_map, float(abs(x[1] - x[0])))
        maps = _feature_stack(feats, self.feature_names)
        flat = ice_map.ravel()
        out = np.zeros(flat.size, dtype=np.float32)
        on = np.flatnonzero(flat)
        for s in range(0, on.size, _BLOCK):
            idx = on[s : s + _BLOCK]
            z = (np.stack([m.ravel()[idx] for m in maps], axis=1) - self.mu) / self.sd
            out[idx] = self._forward(z.astype(np.float32))
        coords = {k: scene_ds.coords[k] for k in ("y", "x", "spatial_ref") if k in scene_ds.coords}
        return xr.DataArray(
            out.reshape(ice_map.shape),
            dims=("y", "x"),
            coords=coords,
            name=self.value,
            attrs={"long_name": f"learned prior of {self.value}", "units": "m"},
        )

    @classmethod
    def fit(
        cls,
        scenes: Sequence[xr.Dataset],
        points: Sequence[gpd.GeoDataFrame],
        value: str = "freeboard",
        *,
        ices: Sequence[xr.DataArray | np.ndarray | None] | None = None,
        hidden: int = 64,
        steps: int = 4000,
        max_points: int = 20000,
        seed: int = 0,
        progress: bool = True,
    ) -> DensifyPrior:
        """Train a prior on past passes over past scenes.

        Parameters
        ----------
        scenes : sequence of xarray.Dataset
            SAR scenes (``hh``, ``hv`` dB, ``incidence_angle``; an ``ice`` map unless
            ``ices`` is given).
        points : sequence of geopandas.GeoDataFrame
            The altimeter points of each scene (same order; one mission).  Floe points
            within the scene are used; lead and flagged points are not.
        value : str
            The column to learn.
        ices : sequence, optional
            0/1 floe/lead maps, one per scene.
        hidden : int
            Width of the two hidden layers.
        steps : int
            Optimizer steps (Adam, mini-batches of 256 footprints, cosine learning rate).
        max_points : int
            Train on at most this many points (a random subset; ICESat-2 passes give
            thousands of segments each).
        seed : int
            Seed of the initialisation and of the batch order.
        progress : bool
            Show a tqdm bar over the epochs.

        Returns
        -------
        DensifyPrior

        Raises
        ------
        InvalidArgumentError
            For mismatched lengths, or fewer than 50 usable points in all.
        """
        if len(scenes) != len(points) or (ices is not None and len(ices) != len(scenes)):
            raise InvalidArgumentError(
                f"scenes, points (and ices) must have one entry per scene; got "
                f"{len(scenes)}, {len(points)}" + (f", {len(ices)}" if ices is not None else "")
            )
        rows, seg, targets, names = _training_pixels(scenes, points, value, ices)
        rows, seg, targets = _subsample(rows, seg, targets, max_points, seed)
        if targets.size < 50:
            raise InvalidArgumentError(
                f"only {targets.size} usable {value!r} points over the scenes; a prior "
                "needs at least 50: pass more passes or scenes"
            )
        mu, sd = rows.mean(axis=0), rows.std(axis=0) + 1e-6
        layers = _train(
            (rows - mu) / sd,
            seg,
            targets,
            hidden=hidden,
            steps=steps,
            seed=seed,
            progress=progress,
        )
        return cls(value, names, mu.astype(np.float32), sd.astype(np.float32), layers, targets.size)

    def save(self, path: str | Path) -> str:
        """Write the prior as safetensors (atomically); returns its sha256."""
        from safetensors.numpy import save_file

        tensors = {"mu": self.mu, "sd": self.sd}
        for k, (w, b) in enumerate(self.layers):
            tensors[f"w{k}"], tensors[f"b{k}"] = w, b
        meta = {
            "format": _FORMAT,
            "value": self.value,
            "features": json.dumps(list(self.feature_names)),
            "n_points": str(self.n_points),
        }
        with atomic_path(Path(path)) as tmp:
            save_file(
                {k: np.ascontiguousarray(v, np.float32) for k, v in tensors.items()}, str(tmp), meta
            )
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    @classmethod
    def load(cls, path: str | Path, sha256: str | None = None) -> DensifyPrior:
        """Read a prior written by ``save``; with ``sha256``, check the file first.

        Raises
        ------
        WeightsError
            When the file's sha256 differs from ``sha256``.
        InvalidArgumentError
            When the file is not a densify prior.
        """
        from safetensors import safe_open

        data = Path(path).read_bytes()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
            raise WeightsError(
                f"{path}: sha256 {hashlib.sha256(data).hexdigest()} is not the expected "
                f"{sha256}; the file is corrupt or not the one you meant"
            )
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _FORMAT:
                raise InvalidArgumentError(
                    f"{path} is not a densify prior (format {meta.get('format')!r}); write "
                    "one with DensifyPrior.save"
                )
            t = {k: f.get_tensor(k) for k in f.keys()}
        n = sum(1 for k in t if k.startswith("w"))
        return cls(
            meta["value"],
            tuple(json.loads(meta["features"])),
            t["mu"],
            t["sd"],
            [(t[f"w{k}"], t[f"b{k}"]) for k in range(n)],
            int(meta["n_points"]),
        )


def _training_pixels(
    scenes: Sequence[xr.Dataset],
    points: Sequence[gpd.GeoDataFrame],
    value: str,
    ices: Sequence[xr.DataArray | np.ndarray | None] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Feature rows of every footprint pixel, their footprint index and the targets."""
    rows: list[np.ndarray] = []
    seg: list[np.ndarray] = []
    targets: list[float] = []
    names: tuple[str, ...] | None = None
    for k, (ds, pts) in enumerate(zip(scenes, points, strict=True)):
        x, y, _ = scene_grid(ds)
        pixel = float(abs(x[1] - x[0]))
        ice_map = _ice(ds, ices[k] if ices is not None else None)
        feats = sar_features(ds, ice_map, pixel)
        names = names or tuple(feats)
        maps = _feature_stack(feats, names)
        got = usable_points(colocate(ds, pts), value, lead_map=True)
        if got.empty:
            continue
        pix = _point_pixels(got, ice_map, pixel, x, y)
        for i, (r, c) in pix.items():
            seg.append(np.full(r.size, len(targets)))
            rows.append(np.stack([m[r, c] for m in maps], axis=1))
            targets.append(float(got[value].iat[i]))
    if names is None or not rows:
        return np.zeros((0, 1)), np.zeros(0, int), np.zeros(0), names or ()
    return np.concatenate(rows), np.concatenate(seg), np.asarray(targets), names


def _subsample(
    rows: np.ndarray, seg: np.ndarray, targets: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At most ``n`` points (their footprint pixels and targets), renumbered."""
    if targets.size <= n:
        return rows, seg, targets
    keep = np.sort(np.random.default_rng(seed).choice(targets.size, n, replace=False))
    new = np.full(targets.size, -1)
    new[keep] = np.arange(n)
    on = new[seg] >= 0
    return rows[on], new[seg[on]], targets[keep]


def _point_pixels(
    pts: pd.DataFrame, ice: np.ndarray, pixel: float, x: np.ndarray, y: np.ndarray
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Ice pixels each point averages: its footprint's, or its own pixel."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    r0, c0 = pts["row"].to_numpy(), pts["col"].to_numpy()
    for i in range(len(pts)):
        if ice[r0[i], c0[i]]:
            out[i] = (np.array([r0[i]]), np.array([c0[i]]))
    for i, _, r, c in footprint_pixels(pts, ice, pixel, x, y):
        if r.size:
            out[i] = (r, c)
        else:
            out.pop(i, None)
    return out


def _train(
    z: np.ndarray,
    seg: np.ndarray,
    targets: np.ndarray,
    *,
    hidden: int,
    steps: int,
    seed: int,
    progress: bool,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Adam on the squared error of footprint-mean predictions; returns the layers."""
    import torch
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(z.shape[1], hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    zt = torch.as_tensor(z, dtype=torch.float32)
    yt = torch.as_tensor(targets, dtype=torch.float32)
    order = np.argsort(seg, kind="stable")
    starts = np.searchsorted(seg[order], np.arange(targets.size + 1))
    perm = np.zeros(0, dtype=np.int64)
    for _ in tqdm(range(steps), desc="densify prior", disable=not progress):
        if perm.size == 0:  # a new epoch
            perm = torch.randperm(targets.size, generator=gen).numpy()
        fps, perm = perm[:256], perm[256:]
        idx = np.concatenate([order[starts[f] : starts[f + 1]] for f in fps])
        li = torch.as_tensor(np.repeat(np.arange(fps.size), starts[fps + 1] - starts[fps]))
        pred = torch.nn.functional.softplus(net(zt[idx])[:, 0])
        sums = torch.zeros(fps.size).index_add_(0, li, pred)
        counts = torch.zeros(fps.size).index_add_(0, li, torch.ones_like(pred))
        loss = torch.mean((sums / counts - yt[fps]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    return [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in lin]
