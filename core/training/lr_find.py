"""The learning-rate range test (Leslie Smith, 2015; fastai's lr_find): train a fresh copy of the model for a few
hundred steps while the learning rate grows exponentially, and read a good peak rate off where the loss falls fastest.
Runs in a thread like training, with Stop."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from core.bounds import bounds_of, ranged, settings_problem
from core.data.batches import augment, normalize, shuffled_batches
from core.data.sources import Dataset
from core.device import resolve_device
from core.models.spec import ModelSpec, build_model
from core.training.callbacks import Control, StopOnControl
from core.training.config import ConfigError, TrainConfig
from core.training.loop import Loop, StepLoss, StepOutput
from core.training.optim import make_optimizer
from core.training.status import RunStatus
from core.training.train import (
    autocast_dtype,
    init_from_data,
    input_dtype,
    train_step,
    training_subset,
)

SMOOTHING = 0.98  # exponential moving average of the loss (debiased), as fastai plots it
DIVERGE_FACTOR = 4.0  # stop once the smoothed loss is this many times its best: the rates beyond explode


@dataclass(frozen=True)
class LRFindConfig:
    steps: int = ranged(100, low=10, high=1000, label="Steps", unit="steps", group="sweep",
                        help="Training steps, one batch each.")
    start_lr: float = ranged(1e-6, low=1e-7, high=1.0, whole=False, label="First learning rate", group="sweep",
                             help="The learning rate of the first step.")
    end_lr: float = ranged(10.0, low=1e-3, high=100.0, whole=False, label="Last learning rate", group="sweep",
                           help="The learning rate of the last step (the sweep stops early once the loss explodes).")

    def check(self) -> "LRFindConfig":
        problem = settings_problem(self)
        if problem is None and self.end_lr <= self.start_lr:
            problem = "end_lr must be above start_lr"
        if problem:
            raise ConfigError(problem)
        return self


@dataclass
class LRFindResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # smoothed: the curve that is plotted and read
    raw_losses: list[float] = field(default_factory=list)
    suggested: float | None = None
    status: RunStatus = RunStatus.RUNNING  # then FINISHED (the sweep ended, or the loss exploded), STOPPED or FAILED
    reason: str = ""

    def to_json(self) -> dict:
        return {"lrs": self.lrs, "losses": self.losses, "raw_losses": self.raw_losses, "suggested": self.suggested,
                "status": self.status, "reason": self.reason}


def suggest(lrs: list[float], losses: list[float]) -> float | None:
    """The rate where the smoothed loss falls fastest against log(lr), looked for before its lowest point: a peak
    rate that still learns quickly, short of where it blows up. Clamped to what TrainConfig accepts."""
    if len(lrs) < 5:
        return None
    lowest = int(np.argmin(losses))
    skip = max(1, len(lrs) // 20)  # the first steps are noise from the fresh weights
    if lowest - skip < 2:
        return None  # the loss never fell
    slopes = np.gradient(np.asarray(losses[skip:lowest + 1]), np.log(np.asarray(lrs[skip:lowest + 1])))
    best = lrs[skip + int(np.argmin(slopes))]
    b = bounds_of(TrainConfig, "lr")
    return float(min(max(best, b.low), b.high))


def lr_find(spec: ModelSpec, dataset: Dataset, config: TrainConfig, settings: LRFindConfig | None = None,
            control: Control | None = None, on_step: Callable[[LRFindResult], None] | None = None) -> LRFindResult:
    """Sweep the learning rate from start_lr to end_lr over `steps` batches of a fresh model built with `config`'s
    seed, optimizer, batch size and augmentation. The model is thrown away; only the curve is kept."""
    settings, control = (settings or LRFindConfig()).check(), control or Control()
    config.check()
    device = resolve_device(config.device)
    model = build_model(spec, seed=config.seed).to(device)
    x_all, y_all = (t.to(device) for t in training_subset(dataset, config))
    init_from_data(model, x_all)
    optimizer, loss_fn = make_optimizer(model, config), nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    generator = torch.Generator().manual_seed(config.seed)
    aug_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    amp, ratio = autocast_dtype(config, device), settings.end_lr / settings.start_lr

    def step(idx: torch.Tensor) -> StepOutput:
        x = augment(normalize(x_all[idx]), config.augmentation, aug_gen)
        _, loss = train_step(model, optimizer, loss_fn, x.to(input_dtype(model)), y_all[idx], device, amp)
        return StepOutput(loss.detach(), len(idx))

    model.train()
    sweep = _Sweep(settings.steps, on_step)
    batches = itertools.islice(_endless_batches(len(x_all), config.batch_size, generator, device), settings.steps)
    # the rate grows exponentially from start_lr, reaching end_lr at the last step
    loop = Loop(optimizer, settings.steps, settings.start_lr, lambda done: ratio ** (done / max(1, settings.steps - 1)),
                [StopOnControl(control), sweep])
    loop.run([batches], step)
    result = sweep.result
    result.suggested = suggest(result.lrs, result.losses)
    result.status = RunStatus.STOPPED if control.stopped else RunStatus.FINISHED
    return result


class _Sweep:
    """The loop callback that draws the curve: each step's loss read at once, smoothed, published; the sweep ends
    where the loss stops being a number or blows up (the rates from there on explode: the curve so far is the
    answer)."""

    def __init__(self, steps: int, on_step: Callable[[LRFindResult], None] | None):
        self.steps, self.on_step, self.result, self.average = steps, on_step, LRFindResult(), 0.0

    def after_step(self, loop: Loop, out: StepOutput) -> None:
        loop.read_losses()

    def after_losses(self, loop: Loop, losses: list[StepLoss]) -> None:
        for s in losses:
            if not math.isfinite(s.loss):
                loop.end(RunStatus.FINISHED)
                return
            self.average = SMOOTHING * self.average + (1 - SMOOTHING) * s.loss
            smoothed = self.average / (1 - SMOOTHING ** s.step)
            self.result.lrs.append(s.lr)
            self.result.raw_losses.append(s.loss)
            self.result.losses.append(smoothed)
            if self.on_step:
                self.on_step(self.result)
            if s.step - 1 > self.steps // 10 and smoothed > DIVERGE_FACTOR * min(self.result.losses):
                loop.end(RunStatus.FINISHED)


def _endless_batches(n: int, batch_size: int, generator: torch.Generator, device):
    """Batches over fresh permutations for as long as asked: a sweep may be longer than one epoch of a small set."""
    while True:
        yield from shuffled_batches(n, batch_size, generator, device)
