"""Adapting a classifier's conv layers to the captioning scenes (core.caption.adapt), and the captioner's adapt mode."""
import random

import pytest
import torch
import torch.nn.functional as F
from conftest import CLASSES

from bench.browser import wait_for
from core.caption.adapt import (
    adapt_encoder,
    classifier_head,
    object_cells,
    object_logits,
)
from core.caption.job import CaptionJob, encoder_source
from core.caption.model import encoder_from_classifier
from core.caption.scenes import Scene, SceneObject, SceneSampler, render_batch
from core.caption.train import CaptionConfig, build_captioner, fit_captioner
from core.data.batches import normalize
from core.models.spec import build_model
from core.runs.folder import read_history, run_path
from core.training.callbacks import Callbacks, Control
from core.training.presets import PRESETS

QUICK = dict(epochs=1, scenes_per_epoch=128, batch_size=16, hidden=32, test_scenes=16, held_out_scenes=16,
             adapt_scenes=64, device="cpu")


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_head_reads_a_lone_picture_exactly_as_the_classifier_does(name):
    """Whatever a preset's head does after the encoder's layers (max-pool to one cell, or flatten a 5x5 map), the
    head given the whole grid of a lone picture gives the classifier's own logits."""
    spec = PRESETS[name].spec
    model = build_model(spec, seed=0).eval()
    convs = len(encoder_from_classifier(spec).layers)
    head = classifier_head(model, spec, convs)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(head.classify(model[:convs](x)), model(x), atol=1e-4)


def test_an_objects_cells_are_those_whose_centres_lie_in_its_box():
    scene = Scene("square", "row2", (SceneObject(0, 0, "left", (0, 0, 32, 32)),
                                     SceneObject(1, 1, "right", (40, 8, 60, 28))), (0, 0, 0))
    maps = torch.arange(8 * 8, dtype=torch.float32).reshape(1, 8, 8)  # centres at 4, 12, ... 60 pixels
    left, right = object_cells(maps, scene)
    assert left.shape == (1, 4, 4) and left[0, 0, 0] == 0 and left[0, 3, 3] == 3 * 8 + 3
    assert right.shape == (1, 2, 2) and right[0].flatten().tolist() == [13, 14, 21, 22]  # rows 1-2, columns 5-6


def _scene_loss(convs, head, dataset, seed=1) -> float:
    rng = random.Random(seed)
    sampler = SceneSampler(dataset.train_y, len(CLASSES))
    scenes = [sampler.scene(rng, "square") for _ in range(32)]
    with torch.no_grad():
        logits, labels = object_logits(convs(normalize(render_batch(scenes, dataset.train_x))), scenes, head)
    return F.cross_entropy(logits, labels).item()


@pytest.mark.slow
def test_adapting_teaches_the_grid_to_name_the_objects_and_stops_when_asked(tiny_dataset):
    spec = PRESETS["tutorial"].spec
    model = build_model(spec, seed=0).eval()
    convs = len(encoder_from_classifier(spec).layers)
    head = classifier_head(model, spec, convs)
    before = _scene_loss(model[:convs], head, tiny_dataset)
    done = adapt_encoder(model[:convs], head, tiny_dataset.train_x, tiny_dataset.train_y, len(CLASSES), scenes=960,
                         batch_size=16, seed=0, device=torch.device("cpu"))
    assert [r.step for r in done] == list(range(1, 61)) and all(0 <= r.objects_right <= 1 for r in done)
    after = _scene_loss(model[:convs], head, tiny_dataset)  # other scenes of the tiny set's training pictures
    assert after < 0.9 * before, (before, after)
    stopped = adapt_encoder(model[:convs], head, tiny_dataset.train_x, tiny_dataset.train_y, len(CLASSES), 480, 16, 0,
                            torch.device("cpu"), on_step=lambda r: False)
    assert len(stopped) == 1


@pytest.mark.slow
def test_adapt_mode_adapts_first_then_keeps_the_encoder_while_the_decoder_learns(trained_run, tiny_dataset):
    source = encoder_source(run_path(trained_run), CLASSES)
    config = CaptionConfig(**QUICK, encoder_mode="adapt", reuse=2)
    model = build_captioner(config, CLASSES, source.spec, source.state)
    start = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    steps, events, at_adapt = [], [], {}

    def on_event(e):
        events.append(e)
        at_adapt.update({k: v.clone() for k, v in model.encoder.state_dict().items()})

    fit_captioner(model, tiny_dataset, config, Callbacks(on_step=steps.append, on_event=on_event), pretrained=True,
                  head=source.head)
    adapt_steps = QUICK["adapt_scenes"] // QUICK["batch_size"]
    assert [s.epoch for s in steps] == [0] * adapt_steps + [1] * (2 * 128 // 16)
    assert [s.step for s in steps] == list(range(1, len(steps) + 1))
    assert {s.total_steps for s in steps} == {len(steps)}  # one progress bar over both phases
    assert [e.type for e in events] == ["adapt"] and events[0].step == adapt_steps
    assert "encoder adapted on 64 training scenes" in events[0].reason
    after = model.encoder.state_dict()
    assert any(not torch.equal(start[k], at_adapt[k]) for k in start)  # adapted...
    assert all(torch.equal(at_adapt[k], after[k]) for k in start)  # ...then kept, BatchNorm statistics too
    assert all(torch.equal(a, b) for a, b in zip(source.head.tail.state_dict().values(),
                                                 classifier_head(*_reloaded(trained_run)).tail.state_dict().values()))


def _reloaded(run_id):
    from core.runs.folder import load_model, open_run
    run = open_run(run_path(run_id))
    return load_model(run), run.spec, len(encoder_from_classifier(run.spec).layers)


def test_stop_during_the_adapt_phase_ends_the_run_before_any_caption_step(trained_run, tiny_dataset):
    source = encoder_source(run_path(trained_run), CLASSES)
    config = CaptionConfig(**QUICK)
    control, steps = Control(), []
    result = fit_captioner(build_captioner(config, CLASSES, source.spec, source.state), tiny_dataset, config,
                           Callbacks(on_step=lambda r: (steps.append(r), control.stop())), control, pretrained=True,
                           head=source.head)
    assert result.status == "stopped" and len(steps) == 1 and steps[0].epoch == 0 and not result.epochs


@pytest.mark.slow
def test_an_adapt_run_records_its_adaptation_in_the_run_folder(trained_run, tiny_dataset):
    source = encoder_source(run_path(trained_run), CLASSES)
    job = CaptionJob(tiny_dataset, CaptionConfig(**QUICK), source, run_path("20260101-000000-captioner-adapt1"))
    job.start()
    wait_for(lambda: job.join(0.1), 120, "the captioner job")
    assert job.snapshot().status == "finished", job.snapshot().reason
    history = read_history(job.folder)
    assert [e.type for e in history.events] == ["adapt"] and "objects named from its grid" in history.events[0].reason
    assert history.steps[0].epoch == 0 and history.epochs[-1].epoch == 1


def test_an_encoder_that_diverges_while_adapting_ends_the_run_with_the_reason(trained_run, tiny_dataset, monkeypatch):
    """A loss that is no longer a number while adapting (forced here by an absurd learning rate) stops the run at
    once, before any captioning on the broken weights, and says what happened and what to try."""
    monkeypatch.setattr("core.caption.adapt.ADAPT_LR", 1e30)
    source = encoder_source(run_path(trained_run), CLASSES)
    config = CaptionConfig(**{**QUICK, "adapt_scenes": 640})
    events = []
    result = fit_captioner(build_captioner(config, CLASSES, source.spec, source.state), tiny_dataset, config,
                           Callbacks(on_event=events.append), pretrained=True, head=source.head)
    assert result.status == "diverged" and not result.epochs and "while adapting to the scenes" in result.reason
    assert [e.type for e in events] == ["diverged"] and "Try encoder mode frozen" in events[0].reason
