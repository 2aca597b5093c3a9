"""Schedules and Lookahead: the triangle's shape, and the weights pulled towards a slow average from its start."""
from itertools import pairwise

import pytest
import torch
from torch import nn

from core import recipe
from core.training.schedule import Lookahead, schedule_factor


def test_the_triangle_rises_from_a_fifth_to_the_peak_at_23_percent_then_falls_to_seven_hundredths():
    def f(p):
        return schedule_factor("triangle", p)

    assert f(0.0) == pytest.approx(0.2) and f(0.23) == pytest.approx(1.0) and f(1.0) == pytest.approx(0.07)
    # piecewise linear: each half of either leg sits halfway between its ends
    assert f(0.115) == pytest.approx((0.2 + 1) / 2) and f((0.23 + 1) / 2) == pytest.approx((1 + 0.07) / 2)
    rising, falling = [f(k / 100) for k in range(24)], [f(k / 100) for k in range(23, 101)]
    assert all(b > a for a, b in pairwise(rising)) and all(b < a for a, b in pairwise(falling))


def test_the_other_schedules_keep_their_shapes():
    assert schedule_factor("constant", 0.7) == 1
    assert schedule_factor("onecycle", recipe.ONECYCLE_WARMUP / 2) == pytest.approx(0.5)
    assert schedule_factor("cosine", 0.25) == pytest.approx(0.5 + 0.5 * 2 ** -0.5)


def _model(value: float) -> nn.Module:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        for v in model.state_dict().values():
            if v.dtype.is_floating_point:
                v.fill_(value)
    return model


def _weights(model: nn.Module) -> torch.Tensor:
    return model[0].weight.detach().clone()


def test_lookahead_waits_until_its_start_then_pulls_the_weights_towards_the_average_at_its_rate():
    model, total = _model(1.0), 100
    lookahead = Lookahead(model)
    lookahead.step(25, total)  # before 30% of the run: nothing happens
    assert lookahead.average is None
    lookahead.step(31, total)  # not a multiple of EVERY
    assert lookahead.average is None
    lookahead.step(30, total)  # the average starts as the weights are; they are not moved
    assert torch.equal(_weights(model), torch.ones(2, 3))
    with torch.no_grad():
        model[0].weight.fill_(3.0)  # the optimizer moved the weights from 1 to 3
    lookahead.step(36, total)  # not a multiple of EVERY: untouched
    assert torch.equal(_weights(model), torch.full((2, 3), 3.0))
    lookahead.step(40, total)
    rate = 1 - recipe.LOOKAHEAD_DECAY ** recipe.LOOKAHEAD_EVERY * 0.4 ** 3
    expected = 1.0 + rate * (3.0 - 1.0)  # the average moved `rate` of the way; the weights are set to it
    assert _weights(model) == pytest.approx(torch.full((2, 3), expected))
    assert lookahead.average[0] == pytest.approx(torch.full((2, 3), expected))
    assert model[1].running_mean == pytest.approx(torch.ones(2))  # BatchNorm statistics are averaged too (unchanged)


def test_lookahead_averages_more_strongly_late_in_the_run_and_ends_each_epoch_on_the_average():
    pulls = []
    for step in (40, 90):
        model = _model(0.0)
        lookahead = Lookahead(model)
        lookahead.step(step - 5, 100)
        with torch.no_grad():
            model[0].weight.fill_(1.0)
        lookahead.step(step, 100)
        pulls.append(float(_weights(model)[0, 0]))
    assert 1 > pulls[0] > pulls[1] > 0  # late, the weights' latest move counts for less
    model = _model(0.0)
    lookahead = Lookahead(model)
    lookahead.finish_epoch()  # no average yet: the weights stay
    with torch.no_grad():
        model[0].weight.fill_(2.0)
    assert torch.equal(_weights(model), torch.full((2, 3), 2.0))
    lookahead.step(50, 100)
    with torch.no_grad():
        model[0].weight.fill_(5.0)
    lookahead.finish_epoch()
    assert torch.equal(_weights(model), torch.full((2, 3), 2.0))
