"""The learning-rate range test: an exponential sweep, a suggestion where the loss falls, Stop, and bad settings."""
import math

import pytest

from core.jobs.lr_find import LRFinderJob
from core.training.callbacks import Control
from core.training.config import ConfigError, TrainConfig
from core.training.lr_find import LRFindConfig, lr_find, suggest
from core.training.presets import PRESETS

SPEC = PRESETS["tutorial"].spec


def test_the_suggestion_lies_where_the_loss_fell(tiny_dataset):
    config = TrainConfig(batch_size=10, optimizer="sgd", momentum=0.9, device="cpu")
    r = lr_find(SPEC, tiny_dataset, config, LRFindConfig(steps=120, start_lr=1e-4, end_lr=10.0))
    assert r.status == "finished" and len(r.lrs) == len(r.losses) == len(r.raw_losses) > 20
    assert all(b > a for a, b in zip(r.lrs, r.lrs[1:]))  # exponential: ratios constant
    assert r.lrs[1] / r.lrs[0] == pytest.approx(r.lrs[-1] / r.lrs[-2])
    lowest = min(range(len(r.losses)), key=r.losses.__getitem__)
    assert r.lrs[0] < r.suggested <= r.lrs[lowest]
    at = min(range(len(r.lrs)), key=lambda i: abs(math.log(r.lrs[i] / r.suggested)))
    assert r.losses[at] < r.losses[0]


def test_suggest_reads_the_steepest_fall_before_the_minimum():
    lrs = [10 ** (k / 10 - 5) for k in range(50)]
    losses = [2.3] * 10 + [2.3 - 0.1 * k for k in range(1, 16)] + [0.8 + 0.3 * k for k in range(25)]
    s = suggest(lrs, losses)
    assert lrs[10] <= s <= lrs[25]
    assert suggest(lrs, [2.3 + 0.01 * k for k in range(50)]) is None  # never fell: no suggestion


def test_stop_ends_the_sweep_early(tiny_dataset):
    control = Control()
    control.stop()
    r = lr_find(SPEC, tiny_dataset, TrainConfig(batch_size=10, device="cpu"), LRFindConfig(steps=200), control)
    assert r.status == "stopped" and len(r.lrs) == 0


def test_the_background_job_reports_a_consistent_curve(tiny_dataset):
    job = LRFinderJob(SPEC, tiny_dataset, TrainConfig(batch_size=10, device="cpu"), LRFindConfig(steps=40)).start()
    seen = []
    while not job.join(0.01):
        r = job.snapshot()
        assert len(r.lrs) == len(r.losses) == len(r.raw_losses)
        seen.append(len(r.lrs))
    assert job.snapshot().status == "finished" and len(job.snapshot().lrs) <= 40


@pytest.mark.parametrize("settings", [dict(steps=5), dict(start_lr=1.0, end_lr=0.5), dict(end_lr=1e6)])
def test_impossible_settings_are_refused_by_name(settings):
    with pytest.raises(ConfigError):
        LRFindConfig(**settings).check()


def test_an_impossible_model_is_refused_before_the_thread_starts(tiny_dataset):
    from core.models.layers import Linear, SpecError
    from core.models.spec import ModelSpec

    with pytest.raises((SpecError, ConfigError)):
        LRFinderJob(ModelSpec((Linear(7),)), tiny_dataset, TrainConfig(batch_size=10, device="cpu"))
