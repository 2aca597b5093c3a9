"""The best epoch and early stopping: epochs are judged on held-out training images (never the test set), the best
one's weights are kept beside the last, and a run that stops improving for `patience` epochs ends early."""
from types import SimpleNamespace

import pytest
import torch

from core.jobs.registry import run_blocking
from core.runs.folder import load_model, open_run
from core.training.callbacks import Callbacks, EarlyStop
from core.training.config import ConfigError, TrainConfig
from core.training.history import EpochReport
from core.training.loop import Loop
from core.training.status import RunStatus
from tests.test_train import SMALL


def _epochs(scores):
    return SimpleNamespace(epochs=[EpochReport(i + 1, 1.0, 0.5, 0.5, {}, 1.0, holdout_accuracy=s)
                                   for i, s in enumerate(scores)])


def _after(scores, patience):
    """Whether EarlyStop ends a loop after the last of these held-out scores, and the event it sent."""
    events = []
    loop = Loop(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), total=100, base_lr=0.1)
    loop.epoch = len(scores)
    EarlyStop(patience, _epochs(scores), Callbacks(on_event=events.append)).after_epoch(loop)
    return loop.ending, events


@pytest.mark.parametrize("scores, patience, stops", [
    ([0.5, 0.6, 0.7], 1, False),  # still improving
    ([0.5, 0.6, 0.6], 1, True),  # a tie is not an improvement
    ([0.5, 0.6, 0.55, 0.58], 2, True),  # two epochs below the best
    ([0.5, 0.6, 0.55, 0.61], 2, False),  # beaten again in time
    ([0.5, 0.4, 0.3], 0, False),  # patience 0 is off
    ([0.9], 1, False),  # nothing to compare yet
])
def test_early_stop_ends_a_run_once_held_out_accuracy_stops_improving_for_patience_epochs(scores, patience, stops):
    ended, events = _after(scores, patience)
    assert ended is stops
    assert [e.type for e in events] == (["early-stop"] if stops else [])
    if stops:
        best = scores.index(max(scores)) + 1
        assert f"epoch {best}'s {max(scores):.1%}" in events[0].reason


def test_early_stopping_without_held_out_images_is_refused_with_what_to_set():
    with pytest.raises(ConfigError, match="holdout"):
        TrainConfig(patience=2).check()
    TrainConfig(patience=2, holdout=2000).check()


def test_a_run_with_a_holdout_keeps_its_best_epochs_weights_beside_its_last(tiny_dataset, tmp_path):
    config = TrainConfig(epochs=4, batch_size=10, lr=0.05, schedule="constant", device="cpu", holdout=12)
    snap = run_blocking(SMALL, tiny_dataset, config, tmp_path / "run")
    assert snap.status == RunStatus.FINISHED
    scores = [e.holdout_accuracy for e in snap.epochs]
    assert all(s is not None and 0 <= s <= 1 for s in scores)
    run = open_run(tmp_path / "run")
    best = scores.index(max(scores)) + 1
    assert (run.summary.best_epoch, run.summary.best_holdout_accuracy) == (best, max(scores))
    assert run.files.best_weights.exists()
    last, kept = load_model(run), load_model(run, best=True)
    same = all(torch.equal(a, b) for a, b in zip(last.state_dict().values(), kept.state_dict().values()))
    assert same is (best == len(scores))  # the best weights are the last only when the last epoch was best


def test_a_run_without_a_holdout_judges_no_epoch_and_keeps_no_best(tiny_dataset, tmp_path):
    snap = run_blocking(SMALL, tiny_dataset, TrainConfig(epochs=1, batch_size=10, device="cpu"), tmp_path / "run")
    run = open_run(tmp_path / "run")
    assert snap.epochs[0].holdout_accuracy is None and run.summary.best_epoch is None
    with pytest.raises(Exception, match="no best epoch"):
        load_model(run, best=True)


def test_a_run_that_stops_improving_ends_early_and_says_why(tiny_dataset, tmp_path):
    # a learning rate too small to learn anything: held-out accuracy soon stops improving
    config = TrainConfig(epochs=10, batch_size=10, lr=1e-6, schedule="constant", device="cpu", holdout=12,
                         patience=2)
    snap = run_blocking(SMALL, tiny_dataset, config, tmp_path / "run")
    scores = [e.holdout_accuracy for e in snap.epochs]
    assert snap.status == RunStatus.FINISHED and len(scores) < 10
    assert max(scores[-2:]) <= max(scores[:-2])  # the last two did not beat the best
    assert [e.type for e in snap.events] == ["early-stop"]
    assert open_run(tmp_path / "run").summary.best_epoch == scores.index(max(scores)) + 1


def test_an_early_stop_says_why_in_the_runs_summary(tiny_dataset, tmp_path):
    config = TrainConfig(epochs=10, batch_size=10, lr=1e-6, schedule="constant", device="cpu", holdout=12,
                         patience=1)
    run_blocking(SMALL, tiny_dataset, config, tmp_path / "run")
    summary = open_run(tmp_path / "run").summary
    assert summary.status == RunStatus.FINISHED and summary.reason.startswith("stopped early after epoch")
