"""The one training loop: every trainer (the classifier's fit, the captioner, its encoder's adapt phase, the
learning-rate finder) runs its steps here. What differs is passed in: the batches, the step (forward, loss, update),
the schedule. Whatever watches a run is a callback on it, as in fastai's Learner and minGPT's trigger_callbacks.

A callback is any object with some of these methods, called in the order the callbacks were given:
    before_epoch(loop)            an epoch's batches are about to be drawn
    before_step(loop)             a batch is drawn; `loop.end(...)` here skips its step
    after_step(loop, out)         a step is done (`out`: its StepOutput); the loss is still on the device
    after_losses(loop, losses)    pending losses were read from the device (when a callback called read_losses)
    after_epoch(loop)             the epoch's steps are done (or the run is ending early)
    after_run(loop)               the run is over: loop.status says how
A callback raising Diverged ends the run with status "diverged"."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from core.training.optim import set_learning_rate
from core.training.status import RunStatus

HOOKS = ("before_epoch", "before_step", "after_step", "after_losses", "after_epoch", "after_run")


class Diverged(RuntimeError):
    """The loss stopped being a number: the run ends, and the message says where and what to try."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class StepOutput:
    """What a step hands its watchers."""

    loss: torch.Tensor  # the step's loss, detached, a scalar (possibly still on the device)
    size: int  # examples the step trained on (images, scenes)
    logits: torch.Tensor | None = None  # their answers, where a watcher counts how many were right
    labels: torch.Tensor | None = None


@dataclass(frozen=True)
class StepLoss:
    """A step's loss once read from the device."""

    step: int  # over the whole run (earlier phases included), 1-based
    epoch: int
    loss: float
    lr: float  # the learning rate the step took


@dataclass
class Loop:
    """One run of steps and what its callbacks share: where it is, the learning rate, and how it ended."""

    optimizer: torch.optim.Optimizer
    total: int  # steps planned for this loop
    base_lr: float  # the peak rate the schedule multiplies (a callback may change it mid-run)
    schedule: Callable[[int], float] = lambda step: 1.0  # multiplier on base_lr after `step` steps of this loop
    callbacks: list[Any] = field(default_factory=list)
    offset: int = 0  # steps an earlier phase of the same run took; reported steps count on after them
    first_epoch: int = 1  # what the first epoch is called (an adapt phase before the run is epoch 0)
    step: int = 0  # steps done in this loop
    epoch: int = 0
    lr: float = 0.0  # the rate the latest step took
    status: RunStatus = RunStatus.RUNNING
    reason: str = ""  # why it diverged, or stopped early
    diverged_at: int = 0
    _pending: list[tuple[int, int, torch.Tensor, float]] = field(default_factory=list)

    @property
    def run_step(self) -> int:
        """Steps done in the whole run: an earlier phase's and this loop's."""
        return self.offset + self.step

    @property
    def ending(self) -> bool:
        return self.status is not RunStatus.RUNNING

    def end(self, status: RunStatus) -> None:
        """End the run after this step (before it, from before_step); the first reason to end is the one kept."""
        if not self.ending:
            self.status = status

    def run(self, epochs: Iterable[Iterable[Any]], step: Callable[[Any], StepOutput]) -> Loop:
        """Each epoch's batches through `step`, at the scheduled learning rate, with every hook in between."""
        try:
            for epoch, batches in enumerate(epochs, start=self.first_epoch):
                self.epoch = epoch
                self._emit("before_epoch")
                for batch in batches:
                    self._emit("before_step")
                    if self.ending:
                        break
                    self.lr = self.base_lr * self.schedule(self.step)
                    set_learning_rate(self.optimizer, self.lr)
                    out = step(batch)
                    self.step += 1
                    self._pending.append((self.run_step, epoch, out.loss, self.lr))
                    self._emit("after_step", out)
                    if self.ending:
                        break
                self._emit("after_epoch")
                if self.ending:
                    break
        except Diverged as exc:
            self.status, self.reason, self.diverged_at = RunStatus.DIVERGED, str(exc), exc.step
        self.end(RunStatus.FINISHED)
        self._emit("after_run")
        return self

    def read_losses(self) -> None:
        """Read the pending steps' losses (one wait for the device) and hand them to after_losses."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.stack([loss for _, _, loss, _ in pending]).float().tolist()
        self._emit("after_losses", [StepLoss(s, e, v, lr) for (s, e, _, lr), v in zip(pending, values)])

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)
