"""The loss curve's smoothing, in one place: a live job folds every step into a moving average as it comes (Curve,
a bounded sample of steps kept), and a saved history is averaged when drawn (smoothed_losses)."""
from __future__ import annotations

from dataclasses import dataclass

from core.training.history import Event, StepReport, adapt_event

SMOOTHING = 0.95  # weight of the past in the moving average, as TensorBoard's smoothing slider
MAX_POINTS = 600  # a curve keeps between this many and twice this many steps (a chart is ~1,000 px wide)


def ema(values: list[float], beta: float = SMOOTHING) -> list[float]:
    """Exponential moving average with bias correction, like TensorBoard's smoothing."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out


def smoothed_losses(steps: list[StepReport], events: list[Event] | None = None) -> list[float]:
    """The moving average to draw under these steps: a live job's own (it averaged every step, not only the kept
    ones), else computed here. A captioner's two losses, the encoder's adapting then the captions', are different
    quantities: each is averaged on its own, from the step its "adapt" event marks."""
    losses = [s.loss for s in steps]
    adapted = adapt_event(events or [])
    if adapted is not None:
        cut = sum(s.step <= adapted.step for s in steps)
        return ema(losses[:cut]) + ema(losses[cut:])
    if steps and steps[0].smoothed is not None:
        return [s.smoothed for s in steps]
    return ema(losses)


@dataclass(frozen=True)
class CurvePoint:
    report: StepReport
    smoothed: float  # the moving average over every step up to this one, not only the kept ones


class Curve:
    """Record every step, draw a sample: every `stride`-th step is kept, and the stride doubles whenever the sample
    reaches twice `max_points`. Adding is O(1) amortised and a copy is at most 2 x max_points long, so a page that
    polls once a second costs the same at step 100 as at step 100,000 (the run folder still records every step)."""

    def __init__(self, max_points: int = MAX_POINTS):
        self.max_points, self.stride = max_points, 1
        self._points: list[CurvePoint] = []
        self._average, self._count = 0.0, 0
        self.last: CurvePoint | None = None

    def add(self, report: StepReport) -> None:
        self._count += 1
        self._average = SMOOTHING * self._average + (1 - SMOOTHING) * report.loss
        self.last = CurvePoint(report, self._average / (1 - SMOOTHING**self._count))
        if report.step % self.stride == 0:
            self._points.append(self.last)
            if len(self._points) >= 2 * self.max_points:
                self.stride *= 2
                self._points = [p for p in self._points if p.report.step % self.stride == 0]

    def points(self) -> list[CurvePoint]:
        """The kept steps, always ending with the latest one."""
        out = list(self._points)
        if self.last is not None and (not out or out[-1] is not self.last):
            out.append(self.last)
        return out
