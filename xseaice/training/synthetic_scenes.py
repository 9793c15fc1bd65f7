"""Training and evaluation scenes from the synthetic world (one scene per seed, or the
synthetic split of a training config)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from xseaice.exceptions import TrainingError
from xseaice.training.datasets import TrainScene, scene_from_dataset

if TYPE_CHECKING:
    from xseaice.training.config import TrainConfig


def synthetic_scene(
    seed: int,
    *,
    season: str,
    shape: Sequence[int] = (512, 512),
    pixel_size: float = 40.0,
    randomize: bool = True,
    variables: Sequence[str],
    keep_dataset: bool = False,
    ranges: Mapping[str, Sequence[float]] | None = None,
    generator: str = "A",
    chart: str = "exact",
) -> TrainScene:
    """A scene of the synthetic world with its chart (and, for evaluation, its truth).

    Parameters
    ----------
    seed : int
        Scene seed (hold evaluation seeds out of training).
    season : {"summer", "winter"}
        Season of the scene.
    shape : (int, int)
        Size in pixels.
    pixel_size : float
        Pixel size in metres.
    randomize : bool
        Draw the scene's physics with
        [`xseaice.synthetic.sample_params`][xseaice.synthetic.sampling.sample_params] (wind,
        incidence, noise, ice types, tie points).
    variables : sequence of str
        Input variables in channel order.
    keep_dataset : bool
        Keep the scene Dataset in ``meta["dataset"]`` (e.g. to run
        `xseaice.inference.segment` on it).
    ranges : mapping, optional
        ``SceneParams`` field -> ``(low, high)``: after the randomised draw, these fields
        are drawn uniformly from the ranges (e.g. ``ice_concentration_mean``,
        ``chart_cell_km``; see [`SyntheticConfig`][xseaice.training.config.SyntheticConfig]).  The
        same seed and ranges give the same scene.
    generator : {"A", "B"}
        The simulator's generator mode: ``"A"`` is the training world, ``"B"`` the
        structurally different held-out world (never train on it).
    chart : {"exact", "analyst"}
        The chart the regions come from: the simulator's exact chart, or an analyst-like
        one ([`xseaice.synthetic.analyst_chart`][xseaice.synthetic.analyst.analyst_chart]: CT
        errors, range codes, drift, generalised boundaries, an uncovered strip), drawn from the
        seed.

    Returns
    -------
    TrainScene
        With ``truth`` (``ice``, ``lead``, ``ice_type`` and the AutoICE ``sod`` / ``floe``
        classes of every pixel, [`xseaice.training.truth_labels`][]) and
        ``meta["season"]``; land
        pixels (the scene's ``land_mask``) are not valid.
    """
    from xseaice.synthetic import SceneParams, make_scene, sample_params

    if chart not in ("exact", "analyst"):
        raise TrainingError(f"chart must be 'exact' or 'analyst'; got {chart!r}")
    params = None
    if ranges:
        rng = np.random.default_rng([int(seed), 1])
        drawn = sample_params(rng, season=season) if randomize else SceneParams(season=season)  # type: ignore[arg-type]
        params = drawn.replace(
            **{k: float(rng.uniform(float(lo), float(hi))) for k, (lo, hi) in ranges.items()}
        )
    sc = make_scene(
        int(seed),
        shape=(int(shape[0]), int(shape[1])),
        pixel_size=float(pixel_size),
        season=season,  # type: ignore[arg-type]
        randomize=randomize,
        params=params,
        generator=generator,  # type: ignore[arg-type]
    )
    from xseaice.training.truth_labels import floe_truth_classes, sod_truth_classes

    truth = {k: np.asarray(sc.truth[k].values) for k in ("ice", "ice_type", "lead")}
    truth["sod"] = sod_truth_classes(truth["ice_type"])
    truth["floe"] = floe_truth_classes(
        np.asarray(sc.truth["floe"].values), truth["ice_type"], pixel_size=float(pixel_size)
    )
    polygons = sc.chart
    if chart == "analyst":
        from xseaice.synthetic import analyst_chart

        polygons = analyst_chart(sc, np.random.default_rng([int(seed), 2]))
    scene = scene_from_dataset(
        sc.dataset,
        polygons,
        variables=variables,
        name=f"synthetic-{generator}-{season}-{seed}",
        undefined_ct="ignore" if chart == "analyst" else "error",
        truth=truth,
    )
    scene.meta = {
        "season": season,
        "seed": int(seed),
        "params": sc.params,
        "generator": generator,
        "chart": chart,
    }
    if keep_dataset:
        scene.meta["dataset"] = sc.dataset
    return scene


def synthetic_list(config: TrainConfig, *, split: str) -> list[TrainScene]:
    syn = config.data.synthetic
    ranges: dict[str, Sequence[float]] = {}
    if split == "train":
        seeds = range(syn.seed, syn.seed + syn.n_scenes)
        if syn.concentration_mean:
            ranges["ice_concentration_mean"] = syn.concentration_mean
        if syn.chart_cell_km:
            ranges["chart_cell_km"] = syn.chart_cell_km
    else:
        seeds = range(syn.val_seed, syn.val_seed + syn.val_scenes)
    return [
        synthetic_scene(
            s,
            season=syn.seasons[j % len(syn.seasons)],
            shape=syn.shape,
            pixel_size=syn.pixel_size,
            randomize=syn.randomize,
            variables=config.data.variables,
            ranges=ranges,
            chart=syn.chart,
        )
        for j, s in enumerate(seeds)
    ]
