"""Training: the loss falls, Stop and learning-rate changes take effect, divergence stops with a reason."""
import math
import threading
import time
from dataclasses import replace

import pytest
import torch

from core.models.layers import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Linear,
    ReLU,
)
from core.models.spec import ModelSpec
from core.training.callbacks import Callbacks, Control
from core.training.config import ConfigError, TrainConfig
from core.training.history import Event
from core.training.presets import PRESETS
from core.training.schedule import schedule_factor
from core.training.train import fit

SMALL = ModelSpec((Conv2d(8), BatchNorm2d(), ReLU(), GlobalAvgPool(), Linear(10)), name="small")
QUICK = TrainConfig(epochs=3, batch_size=10, lr=0.05, schedule="constant", device="cpu")


def test_a_few_epochs_lower_the_loss_and_report_every_step_and_epoch(tiny_dataset):
    steps, epochs = [], []
    result = fit(SMALL, tiny_dataset, QUICK, Callbacks(on_step=steps.append, on_epoch=lambda r, m: epochs.append(r)))
    assert result.status == "finished"
    assert [s.step for s in steps] == list(range(1, 19))  # 60 images / 10 per batch x 3 epochs
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert set(epochs[-1].per_class_accuracy) == set(tiny_dataset.classes)
    assert steps[-1].eta == pytest.approx(0, abs=1e-6) and steps[0].eta > 0
    assert result.images_per_second > 0
    # training time is counted apart from evaluations: it grows, stays under the wall time, ends at the run's total
    train = [e.train_seconds for e in epochs]
    assert 0 < train[0] < train[1] < train[2] == result.train_seconds
    assert all(e.train_seconds < e.seconds for e in epochs)


RANDOM = ModelSpec((Conv2d(8), BatchNorm2d(), ReLU(), Dropout(0.5), GlobalAvgPool(), Linear(10)), name="random")
AUGMENTED = TrainConfig(epochs=2, batch_size=10, lr=0.05, crop_padding=2, flip=True, limit_train=40, seed=3,
                        device="cpu")


def _weights(result):
    return {k: v.clone() for k, v in result.model.state_dict().items()}


def test_the_same_seed_gives_the_same_run(tiny_dataset):
    a = fit(RANDOM, tiny_dataset, AUGMENTED)
    b = fit(RANDOM, tiny_dataset, AUGMENTED)
    assert a.epochs[-1].train_loss == b.epochs[-1].train_loss
    assert all(torch.equal(v, _weights(b)[k]) for k, v in _weights(a).items())
    c = fit(RANDOM, tiny_dataset, replace(AUGMENTED, seed=4))
    assert not torch.equal(_weights(a)["0.weight"], _weights(c)["0.weight"])


def test_runs_training_at_once_with_the_same_seed_end_with_the_same_weights(tiny_dataset):
    """Initialisation, shuffling, augmentation and dropout draw from the run's own generators: runs in other
    threads, and anyone reseeding torch's global generator meanwhile, change nothing."""
    alone = _weights(fit(RANDOM, tiny_dataset, AUGMENTED))
    results, stop_noise = [None, None], threading.Event()

    def train(k):
        results[k] = _weights(fit(RANDOM, tiny_dataset, AUGMENTED))

    def noise():  # another session drawing from (and reseeding) the global generator all the while
        while not stop_noise.is_set():
            torch.manual_seed(int(time.time_ns() % 1000))
            torch.rand(100)

    threads = [threading.Thread(target=train, args=(k,)) for k in range(2)] + [threading.Thread(target=noise)]
    for t in threads:
        t.start()
    for t in threads[:2]:
        t.join(120)
    stop_noise.set()
    threads[2].join(10)
    for weights in results:
        assert weights is not None and all(torch.equal(v, alone[k]) for k, v in weights.items())


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.slow
def test_every_preset_trains_two_batches_without_nan(tiny_dataset, name):
    config = TrainConfig(**{**PRESETS[name].config.to_json(), "epochs": 1, "batch_size": 30, "device": "cpu"})
    steps = []
    result = fit(PRESETS[name].spec, tiny_dataset, config, Callbacks(on_step=steps.append))
    assert result.status == "finished" and len(steps) == 2 and all(math.isfinite(s.loss) for s in steps)


def test_stop_takes_effect_within_one_batch(tiny_dataset):
    control = Control()
    steps = []

    def on_step(report):
        steps.append(report)
        if report.step == 2:
            control.stop()

    events = []
    result = fit(SMALL, tiny_dataset, QUICK, Callbacks(on_step=on_step, on_event=events.append), control)
    assert result.status == "stopped" and len(steps) == 2 and result.epochs == []
    assert events == [Event("stop", 2)]


def test_learning_rate_can_change_mid_run_and_is_recorded(tiny_dataset):
    control, steps, events = Control(), [], []

    def on_step(report):
        steps.append(report)
        if report.step == 3:
            control.set_lr(0.001)

    fit(SMALL, tiny_dataset, QUICK, Callbacks(on_step=on_step, on_event=events.append), control)
    assert steps[2].lr == 0.05 and steps[3].lr == 0.001
    assert events == [Event("lr", 3, lr_from=0.05, lr_to=0.001)]


def test_an_exploding_loss_stops_with_the_reason_and_a_suggestion(tiny_dataset):
    unstable = ModelSpec((Flatten(), Linear(256), Linear(256), Linear(10)))
    events = []
    result = fit(unstable, tiny_dataset, TrainConfig(epochs=3, batch_size=10, lr=10.0, momentum=0.99,
                                                     schedule="constant", device="cpu"), Callbacks(on_event=events.append))
    assert result.status == "diverged"
    assert "the loss became" in result.reason and "Try a learning rate about 10x lower" in result.reason
    [event] = events
    assert event.type == "diverged" and event.reason == result.reason and f"at step {event.step} " in result.reason


@pytest.mark.parametrize("change,message", [
    ({"lr": 0.0}, "lr must be a number from 1e-06 to 10"),
    ({"lr": float("nan")}, "lr must be"),
    ({"epochs": 0}, "epochs must be a whole number from 1 to 500"),
    ({"batch_size": 10**6}, "batch_size must be"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, adam, adamw"),
    ({"label_smoothing": 0.9}, "label_smoothing must be"),
    ({"optimizer": "adam", "nesterov": True}, "nesterov needs the sgd or muon optimizer"),
])
def test_settings_outside_sane_ranges_are_refused_in_core(change, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**change).check()


def test_schedules():
    assert schedule_factor("constant", 0.7) == 1
    assert schedule_factor("onecycle", 0.0) == 0 and schedule_factor("onecycle", 0.2) == 1
    assert schedule_factor("onecycle", 1.0) == 0
    assert schedule_factor("cosine", 0.5) == pytest.approx(0.5)


def test_limit_train_uses_a_seeded_subset(tiny_dataset):
    steps = []
    fit(SMALL, tiny_dataset, TrainConfig(epochs=1, batch_size=10, limit_train=20, device="cpu"),
        Callbacks(on_step=steps.append))
    assert len(steps) == 2


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_uses_bf16_only_where_the_cpu_runs_it_natively(monkeypatch, native):
    from core.training.train import autocast_dtype, fp16_weights

    monkeypatch.setattr("core.training.train.has_fast_bf16", lambda device: native or device.type == "cuda")
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    expected = torch.bfloat16 if native else None
    for precision in ("auto", "fp16"):  # CPUs have no fast fp16 weights: fp16 means the same as auto there
        assert autocast_dtype(TrainConfig(precision=precision), cpu) == expected
        assert not fp16_weights(TrainConfig(precision=precision), cpu)
    assert autocast_dtype(TrainConfig(precision="bf16"), cpu) == torch.bfloat16  # asked for: always
    assert autocast_dtype(TrainConfig(precision="fp32"), cpu) is None
    assert autocast_dtype(TrainConfig(precision="auto"), cuda) == torch.bfloat16
    assert fp16_weights(TrainConfig(precision="fp16"), cuda) and autocast_dtype(TrainConfig(precision="fp16"), cuda) is None


def test_small_batches_train_on_one_thread_without_touching_other_threads(tiny_dataset):
    """OpenMP's thread count is per calling thread: a batch-4 run uses one, and leaves everyone else's alone."""
    seen = []
    before = torch.get_num_threads()
    fit(SMALL, tiny_dataset, replace(QUICK, epochs=1, batch_size=4),
        Callbacks(on_step=lambda r: seen.append(torch.get_num_threads())))
    assert set(seen) == {1} and torch.get_num_threads() == before
    fit(SMALL, tiny_dataset, replace(QUICK, epochs=1, batch_size=30),
        Callbacks(on_step=lambda r: seen.append(torch.get_num_threads())))
    assert seen[-1] == before
    other = []
    worker = threading.Thread(target=lambda: fit(SMALL, tiny_dataset, replace(QUICK, epochs=1, batch_size=4)))
    worker.start()
    while worker.is_alive():
        other.append(torch.get_num_threads())
        time.sleep(0.001)
    assert set(other) == {before}


def test_a_crash_in_training_is_one_line_for_the_user_and_a_traceback_in_the_run_folder(tiny_dataset, tmp_path,
                                                                                         monkeypatch):
    from core.jobs import registry as jobs
    from core.runs import folder as runs
    from core.runs.layout import RunFolder

    def crash(*args, **kwargs):
        raise RuntimeError("simulated engine bug")

    monkeypatch.setattr(jobs, "fit", crash)
    snap = jobs.run_blocking(PRESETS["tutorial"].spec, tiny_dataset, TrainConfig(epochs=1, batch_size=10, device="cpu"),
                             tmp_path / "run")
    assert snap.status == "failed" and "\n" not in snap.reason
    assert snap.reason == "training failed: RuntimeError: simulated engine bug (traceback in error.log)"
    log = RunFolder(tmp_path / "run").error_log.read_text()
    assert "Traceback" in log and "in crash" in log and "simulated engine bug" in log
    assert runs.read_summary(tmp_path / "run").reason == snap.reason


def test_robust_is_fast_with_its_augmentation_and_nothing_else():
    """The robust preset was chosen as `train --model fast` (SGD then) plus these flags (docs/robustness.md); it must
    stay that. `fast` has since moved to Muon, and that is all that moved."""
    from dataclasses import fields, replace

    from core.training.presets import FAST_SGD, PRESETS, ROBUST_AUGMENTATION

    fast, robust = PRESETS["fast"], PRESETS["robust"]
    assert robust.spec.layers == fast.spec.layers
    assert robust.config == replace(FAST_SGD.config(), **ROBUST_AUGMENTATION)
    assert ROBUST_AUGMENTATION and all(getattr(FAST_SGD, k) != v for k, v in ROBUST_AUGMENTATION.items())
    groups = {f.name: f.metadata["group"] for f in fields(robust.table)}
    assert {groups[k] for k in ROBUST_AUGMENTATION} == {"data"}
    assert fast.config == replace(FAST_SGD.config(), optimizer="muon", muon_lr=fast.table.muon_lr)


def test_the_jensen_shannon_term_is_zero_for_agreeing_views_and_at_most_log_2():
    from core.training.train import jensen_shannon

    a = torch.randn(16, 10)
    assert jensen_shannon(a, a).item() == pytest.approx(0, abs=1e-6)
    assert jensen_shannon(a, -a).item() == pytest.approx(jensen_shannon(-a, a).item())  # symmetric
    apart = torch.full((4, 10), -50.0)
    one, other = apart.clone(), apart.clone()
    one[:, 0], other[:, 1] = 50, 50  # certain of two different classes
    assert jensen_shannon(one, other).item() == pytest.approx(math.log(2), rel=1e-3)
    nothing = torch.zeros(0, 10, requires_grad=True)  # a batch the photo share left untouched
    assert jensen_shannon(nothing, nothing).item() == 0 and jensen_shannon(nothing, nothing).requires_grad


def test_consistency_trains_each_photo_augmented_image_beside_its_plain_view(tiny_dataset):
    import torch.nn as nn

    from core.data.batches import with_plain_views
    from core.training.train import training_batch

    x, y = torch.rand(64, 3, 32, 32) * 2 - 1, torch.randint(0, 10, (64,))
    ce = nn.CrossEntropyLoss()
    config = replace(PRESETS["robust"].config, consistency=12.0)
    images, labels, loss = training_batch(x, y, config, torch.Generator().manual_seed(0), ce)
    twins = len(labels) - 64
    assert 0 < twins < 64 and len(images) == len(labels) and torch.equal(labels[:64], y)
    _, pairs = with_plain_views(x, config.augmentation, torch.Generator().manual_seed(0))  # the same draw
    assert torch.equal(labels[64:], y[pairs])
    logits = torch.randn(len(labels), 10)
    assert loss(logits, labels) > ce(logits, labels)  # the views disagree: the term adds to the loss
    logits[64:] = logits[pairs]
    assert loss(logits, labels) == pytest.approx(ce(logits, labels).item(), abs=1e-5)  # they agree: nothing added
    # without the setting (or without photo augmentation) the batch and the loss are what they always were
    for off in (replace(config, consistency=0.0), replace(PRESETS["fast"].config, consistency=12.0)):
        images, labels, same = training_batch(x, y, off, torch.Generator().manual_seed(0), ce)
        assert len(images) == 64 and torch.equal(labels, y) and same is ce
    # a share so small that batches go without a photo-augmented image trains too (no NaN from an empty mean)
    none_touched = replace(config, photo_share=0.0)
    images, labels, loss = training_batch(x, y, none_touched, torch.Generator().manual_seed(0), ce)
    assert len(images) == 64 and loss(torch.randn(64, 10), labels).isfinite()
    # and a short run with it trains
    result = fit(SMALL, tiny_dataset, replace(QUICK, epochs=2, noise=0.1, photo_share=0.5, consistency=12.0))
    assert result.status.value == "finished" and result.epochs[-1].train_loss < result.epochs[0].train_loss
