"""The one training loop and its callbacks: Stop takes effect at the next step, a new learning rate is taken and
reported once, divergence ends the run with its advice, and every trainer runs its steps through the loop."""
import math

import pytest
import torch

from core.training.callbacks import (
    Callbacks,
    Control,
    DivergenceGuard,
    LearningRateFromControl,
    Pacer,
    StopOnControl,
    lower_lr,
)
from core.training.history import Event
from core.training.loop import Loop, StepOutput
from core.training.optim import LR_SCALE


def _loop(control: Control, report: Callbacks, losses=None, scales=(1.0,), epochs=1, steps=6, **loop_args):
    """A loop over `epochs` x `steps` dummy batches whose step records the learning rate each group had."""
    params = [torch.zeros(1, requires_grad=True) for _ in scales]
    optimizer = torch.optim.SGD([{"params": [p], LR_SCALE: s} for p, s in zip(params, scales)], lr=1.0)
    taken = []

    def step(batch) -> StepOutput:
        taken.append([g["lr"] for g in optimizer.param_groups])
        loss = losses(len(taken)) if losses else 1.0 / len(taken)
        return StepOutput(torch.tensor(loss), 4)

    watchers = [StopOnControl(control, report), LearningRateFromControl(control, report),
                DivergenceGuard(lower_lr(" (hint)"), report), Pacer(report, torch.device("cpu"))]
    loop = Loop(optimizer, epochs * steps, 0.1, callbacks=watchers, **loop_args)
    return loop, (range(steps) for _ in range(epochs)), step, taken


def test_stop_lets_the_step_under_way_finish_and_starts_no_other():
    control, steps, events = Control(), [], []
    report = Callbacks(on_step=steps.append, on_event=events.append)
    loop, epochs, step, taken = _loop(control, report)
    loop.run(epochs, lambda batch: (control.stop() if len(taken) == 2 else None, step(batch))[1])  # pressed mid-step
    assert loop.status == "stopped" and len(taken) == 3 and [s.step for s in steps] == [1, 2, 3]
    assert events == [Event("stop", 3)]


def test_stop_before_the_run_trains_nothing_and_stop_in_an_epochs_last_report_skips_its_evaluation():
    control, events = Control(), []
    control.stop()
    loop, epochs, step, taken = _loop(control, Callbacks(on_event=events.append))
    assert loop.run(epochs, step).status == "stopped" and taken == [] and events == [Event("stop", 0)]

    control, evaluated = Control(), []
    loop, epochs, step, taken = _loop(control, Callbacks(on_step=lambda r: r.step == 6 and control.stop()), epochs=2)
    loop.callbacks.append(type("Evaluate", (), {"after_epoch": lambda self, lp: lp.ending or evaluated.append(1)})())
    loop.run(epochs, step)
    assert len(taken) == 6 and evaluated == [] and loop.status == "stopped"


def test_a_new_learning_rate_is_taken_at_the_next_step_reported_once_and_scaled_per_group():
    control, steps, events = Control(), [], []
    report = Callbacks(on_step=lambda r: (steps.append(r), r.step == 12 and control.set_lr(0.5)), on_event=events.append)
    loop, epochs, step, taken = _loop(control, report, scales=(1.0, 0.25), offset=10)
    loop.schedule = lambda done: 1 - done / 10  # the schedule multiplies whichever peak rate is current
    loop.run(epochs, step)
    assert taken[0] == pytest.approx([0.1, 0.025]) and taken[1] == pytest.approx([0.09, 0.0225])
    assert taken[2] == pytest.approx([0.4, 0.1]) and taken[5] == pytest.approx([0.25, 0.0625])
    assert events == [Event("lr", 12, lr_from=0.1, lr_to=0.5)]  # once, at the step it took effect, after the offset
    assert [s.lr for s in steps] == [t[0] for t in taken] and [s.step for s in steps] == list(range(11, 17))
    assert {s.total_steps for s in steps} == {16} and loop.status == "finished"


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_divergence_ends_the_run_at_the_first_broken_loss_with_its_advice(bad):
    steps, events = [], []
    loop, epochs, step, taken = _loop(Control(), Callbacks(on_step=steps.append, on_event=events.append),
                                      losses=lambda n: bad if n == 3 else 1.0)
    loop.run(epochs, step)
    word = "NaN" if math.isnan(bad) else "infinite"
    assert loop.status == "diverged" and len(taken) == 3 and [s.step for s in steps] == [1, 2]
    assert loop.reason == (f"the loss became {word} at step 3 (epoch 1) with learning rate 0.1; the weights from the "
                           "last finished epoch are kept. Try a learning rate about 10x lower (0.01) (hint)")
    assert events == [Event("diverged", 3, reason=loop.reason)]


def test_the_pacer_sums_each_epochs_loss_and_reads_losses_in_batches_off_a_cpu():
    steps = []
    loop, epochs, step, _ = _loop(Control(), Callbacks(on_step=steps.append), epochs=2, steps=3)
    pacer = loop.callbacks[-1]
    pacer.read_every_s = 3600.0  # as on a GPU, where reading a loss waits for the device: here only at epoch ends
    seen_at_epoch_end = []
    loop.callbacks.append(type("Watch", (), {"after_epoch": lambda self, lp: seen_at_epoch_end.append(len(steps))})())
    loop.run(epochs, step)
    assert seen_at_epoch_end == [3, 6] and [s.step for s in steps] == list(range(1, 7))
    assert pacer.seen == 24 and pacer.epoch_loss == pytest.approx((1 / 4 + 1 / 5 + 1 / 6) / 3)
    assert pacer.mean_step_loss == pytest.approx(pacer.epoch_loss)


def test_every_trainer_runs_its_steps_through_the_one_loop(tiny_dataset, monkeypatch):
    """fit, the learning-rate finder, the captioner and its encoder's adapt phase: one loop, four step functions."""
    from test_train import QUICK, SMALL

    from core.caption.adapt import adapt_encoder, classifier_head
    from core.caption.model import SCRATCH_ENCODER, encoder_from_classifier
    from core.caption.train import CaptionConfig, build_captioner, fit_captioner
    from core.models.spec import build_model
    from core.training.lr_find import LRFindConfig, lr_find
    from core.training.presets import PRESETS
    from core.training.train import fit

    runs, real = [], Loop.run
    monkeypatch.setattr(Loop, "run", lambda self, epochs, step: (runs.append(step.__qualname__), real(self, epochs, step))[1])
    fit(SMALL, tiny_dataset, QUICK)
    lr_find(SMALL, tiny_dataset, QUICK, LRFindConfig(steps=10))
    config = CaptionConfig(epochs=1, scenes_per_epoch=64, batch_size=32, hidden=32, test_scenes=16, held_out_scenes=16,
                           device="cpu")
    fit_captioner(build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER), tiny_dataset, config)
    spec = PRESETS["tutorial"].spec
    model, convs = build_model(spec, seed=0).eval(), len(encoder_from_classifier(spec).layers)
    adapt_encoder(model[:convs], classifier_head(model, spec, convs), tiny_dataset.train_x, tiny_dataset.train_y,
                  len(tiny_dataset.classes), 32, 16, 0, torch.device("cpu"))
    assert runs == ["_fit.<locals>.step", "lr_find.<locals>.step", "_caption.<locals>.step",
                    "adapt_encoder.<locals>.step"]
