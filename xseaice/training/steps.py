"""One optimiser step and a running-loss log, shared by the small training loops
(zone fine-tuning, masked-image pretraining)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
from torch import nn

from xseaice.exceptions import TrainingError

__all__ = ["RunningLoss", "optimizer_step"]


def optimizer_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    parameters: Iterable[nn.Parameter],
    *,
    step: int,
    lr: float,
    what: str = "loss",
    clip: float = 5.0,
) -> None:
    """Back-propagate ``loss`` and step ``optimizer`` with gradient-norm clipping.

    Raises
    ------
    TrainingError
        If the loss is not finite (names the step and the learning rate to lower).
    """
    if not torch.isfinite(loss):
        raise TrainingError(f"{what} became {loss.item()} at step {step}; lower lr={lr}")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(parameters, clip)
    optimizer.step()


class RunningLoss:
    """Mean loss over every ``every`` steps, kept as ``history`` and logged.

    Parameters
    ----------
    steps : int
        Total number of steps (the last one is always logged).
    every : int
        Log and record the mean every this many steps.
    logger : logging.Logger
        Where the means go (INFO).
    label : str
        Prefix of the log line (e.g. ``"MIM step"``).
    """

    def __init__(self, steps: int, every: int, logger: logging.Logger, label: str = "step"):
        self.steps, self.every, self.logger, self.label = steps, every, logger, label
        self.history: list[tuple[int, float]] = []
        self._sum = 0.0

    def add(self, step: int, value: float) -> None:
        """Add the loss of ``step`` (0-based)."""
        self._sum += value
        if (step + 1) % self.every == 0 or step + 1 == self.steps:
            mean = self._sum / ((step % self.every) + 1)
            self.history.append((step + 1, mean))
            self.logger.info("%s %d/%d loss %.4f", self.label, step + 1, self.steps, mean)
            self._sum = 0.0
