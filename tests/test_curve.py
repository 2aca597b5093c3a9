"""The live loss curve: bounded however long the run, exact where it keeps a step, the latest step always in it."""
import math

import pytest

from core.runs.curve import Curve, ema
from core.training.history import StepReport


def report(step: int) -> StepReport:
    return StepReport(step=step, epoch=1, loss=2.0 + math.sin(step / 7.0), lr=0.1, images_per_second=1.0,
                      elapsed=0.0, eta=0.0, total_steps=100_000)


def test_ema_is_bias_corrected():
    assert ema([4.0]) == [4.0]
    assert ema([1.0, 3.0], beta=0.5) == [1.0, pytest.approx((0.25 + 1.5) / 0.75)]


@pytest.mark.parametrize("n", [1, 7, 3999, 4000, 100_000])
def test_a_curve_of_any_length_stays_small_and_exact(n):
    curve = Curve(max_points=1000)
    for step in range(1, n + 1):
        curve.add(report(step))
    points = curve.points()
    assert len(points) <= 2 * 1000 + 1
    assert points[-1].report.step == n  # the latest step is always drawn
    steps = [p.report.step for p in points]
    assert steps == sorted(set(steps)) and steps[0] <= curve.stride
    assert all(s % curve.stride == 0 for s in steps[:-1])
    smoothed = ema([report(s).loss for s in range(1, n + 1)])
    for p in points[:: max(1, len(points) // 50)] + [points[-1]]:
        assert p.smoothed == pytest.approx(smoothed[p.report.step - 1], rel=1e-9)


def test_a_long_run_keeps_a_dense_sample_not_just_the_start():
    curve = Curve(max_points=1000)
    for step in range(1, 100_001):
        curve.add(report(step))
    assert len(curve.points()) >= 1000


def test_a_captioners_two_losses_are_smoothed_apart_at_the_adapt_step():
    """The adapt phase's loss (objects) and the captions' loss (per word) are different quantities: the chart's moving
    average starts afresh where the "adapt" event marks the switch, instead of dragging one into the other."""
    from core.training.history import Event
    from ui.figures import loss_figure

    steps = [StepReport(i, 0 if i <= 10 else 1, 1.0 if i <= 10 else 4.0, 0.001, smoothed=9.0) for i in range(1, 21)]
    smoothed = loss_figure(steps, [Event("adapt", 10)]).data[1].y
    assert list(smoothed) == pytest.approx([1.0] * 10 + [4.0] * 10)
    assert list(loss_figure(steps).data[1].y) == [9.0] * 20  # without the event: the live job's own average


def test_smoothing_has_one_owner_for_live_and_saved_steps():
    """A live job's own average is kept (it saw every step, not only the sampled ones); a saved history is averaged
    when drawn; a captioner's two losses are averaged apart from its "adapt" step."""
    from core.runs.curve import smoothed_losses
    from core.training.history import Event

    saved = [report(s) for s in range(1, 30)]
    assert smoothed_losses(saved) == pytest.approx(ema([s.loss for s in saved]))
    live = [StepReport(s, 1, 1.0, 0.1, smoothed=7.0) for s in range(1, 5)]
    assert smoothed_losses(live) == [7.0] * 4
    two = [StepReport(s, 0 if s <= 3 else 1, 1.0 if s <= 3 else 5.0, 0.1) for s in range(1, 7)]
    assert smoothed_losses(two, [Event("adapt", 3)]) == pytest.approx([1.0] * 3 + [5.0] * 3)
    assert smoothed_losses([]) == []
