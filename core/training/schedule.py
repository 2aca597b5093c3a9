"""How the learning rate and the weights move over a run: the schedules' shapes and airbench's Lookahead averaging."""
from __future__ import annotations

import math

import torch
from torch import nn

from core import recipe


def schedule_factor(schedule: str, progress: float) -> float:
    """Multiplier on the peak learning rate at `progress` (0..1) through the run."""
    if schedule == "onecycle":
        warm = recipe.ONECYCLE_WARMUP
        return progress / warm if progress < warm else max(0.0, (1 - progress) / (1 - warm))
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "triangle":  # airbench: 0.2 -> 1 at 23% of the run -> 0.07 at the end
        start, peak, end = recipe.TRIANGLE_START, recipe.TRIANGLE_PEAK_AT, recipe.TRIANGLE_END
        if progress < peak:
            return start + (1 - start) * progress / peak
        return 1 - (1 - end) * (progress - peak) / (1 - peak)
    return 1.0


class Lookahead:
    """airbench's weight averaging: every few steps from 30% of the run, move an average towards the weights and
    copy it back, with a decay that grows towards the end (fast early, strongly averaged late). Constants in recipe.
    A loop callback: it acts after each step and at the end of each epoch."""

    EVERY, START = recipe.LOOKAHEAD_EVERY, recipe.LOOKAHEAD_START

    def __init__(self, model: nn.Module):
        # parameters and BatchNorm statistics, as the tensors themselves: updated in place, in one fused call each
        self.state = [v for v in model.state_dict().values() if v.dtype.is_floating_point]
        self.average: list[torch.Tensor] | None = None

    @torch.no_grad()
    def step(self, step: int, total: int) -> None:
        if step / total < self.START or step % self.EVERY:
            return
        if self.average is None:
            self.average = [v.clone() for v in self.state]
            return
        torch._foreach_lerp_(self.average, self.state, 1 - recipe.LOOKAHEAD_DECAY**self.EVERY * (step / total) ** 3)
        torch._foreach_copy_(self.state, self.average)

    @torch.no_grad()
    def finish_epoch(self) -> None:
        if self.average is not None:
            torch._foreach_copy_(self.state, self.average)

    # --- as a loop callback (core.training.loop)

    def after_step(self, loop, out) -> None:
        self.step(loop.step, loop.total)

    def after_epoch(self, loop) -> None:
        self.finish_epoch()
