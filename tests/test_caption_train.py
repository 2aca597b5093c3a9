"""Training a captioner on generated data, scoring captions, and the captioner's run folder."""
import json
from dataclasses import replace

import pytest
import torch
from conftest import CLASSES
from PIL import Image
from torch import nn

from bench.browser import wait_for
from core.caption.evaluate import (
    caption_scenes,
    classes_named,
    meaning_of,
    named_by_size,
    score_captions,
    score_template,
)
from core.caption.fitting import OLD_FIT
from core.caption.job import CaptionJob, encoder_source
from core.caption.model import SCRATCH_ENCODER, Captioner, prepare
from core.caption.runs import load_captioner, open_captioner, save_captioner
from core.caption.scenes import Scene, SceneObject, evaluation_scenes, vocabulary
from core.caption.train import CaptionConfig, build_captioner, fit_captioner
from core.caption.varied import varied_test_scenes
from core.runs.folder import RunError, list_runs, open_run, read_history, run_path
from core.training.callbacks import Callbacks, Control
from core.training.history import HISTORY_VERSION, CaptionEpochReport, Event

QUICK = dict(epochs=2, scenes_per_epoch=384, batch_size=32, hidden=64, lr=3e-3, test_scenes=24, held_out_scenes=16,
             varied_test_scenes=24, device="cpu")


@pytest.mark.slow
def test_a_short_run_lowers_the_loss_and_speaks_the_vocabulary(tiny_dataset):
    config = CaptionConfig(**QUICK)
    model = build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER)
    losses, epochs = [], []
    result = fit_captioner(model, tiny_dataset, config,
                           Callbacks(on_step=lambda r: losses.append(r.loss), on_epoch=lambda r, m: epochs.append(r)))
    assert result.status == "finished" and len(epochs) == 2 and len(losses) == 24
    assert sum(losses[-4:]) / 4 < 0.8 * sum(losses[:4]) / 4  # 3.9 -> 2.9 when written
    sentences = [s["sentence"] for s in epochs[-1].samples]
    assert [("scene" in s, "varied" in s) for s in epochs[-1].samples] == [(True, False)] * 8 + [(False, True)] * 8
    assert len(sentences) == 16 and all(set(s.split()) <= set(vocabulary(CLASSES)) - {"<pad>", "<start>", "<end>"}
                                       for s in sentences)
    last = epochs[-1]
    assert all(0 <= v <= 1 for v in (last.exact, last.precision, last.recall, last.bleu, last.varied_exact,
                                     last.varied_recall, last.varied_bleu, last.varied_large_exact,
                                     last.varied_large_recall))


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_the_varied_share_is_the_share_of_batches_drawn_varied(tiny_dataset, monkeypatch, share):
    import core.caption.train as caption_train
    from core.caption.varied import VariedScene

    kinds = []
    real = caption_train.draw_scenes
    monkeypatch.setattr(caption_train, "draw_scenes", lambda *a: kinds.append(isinstance(real(*a)[1][0], VariedScene))
                        or real(*a))
    config = CaptionConfig(**{**QUICK, "epochs": 1, "scenes_per_epoch": 32 * 40, "test_scenes": 16,
                              "varied_test_scenes": 0, "varied_share": share, "hidden": 16})
    fit_captioner(build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER), tiny_dataset, config)
    assert len(kinds) == 40 and sum(kinds) / len(kinds) == pytest.approx(share, abs=0.2)


def test_without_varied_test_scenes_the_report_leaves_them_out(tiny_dataset):
    config = CaptionConfig(**{**QUICK, "epochs": 1, "scenes_per_epoch": 64, "varied_test_scenes": 0})
    [report] = fit_captioner(build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER), tiny_dataset,
                             config).epochs
    assert report.varied_exact is None and not any("varied" in s for s in report.samples)


def test_captions_are_taught_with_plain_articles(tiny_dataset, monkeypatch):
    """Every article is taught as "a" (core.caption.scenes.taught): the captioner never has to guess "an" a word early."""
    import core.caption.train as caption_train
    taught = []
    real = caption_train.encode_sentences
    monkeypatch.setattr(caption_train, "encode_sentences", lambda sentences, vocab: taught.extend(sentences) or
                        real(sentences, vocab))
    config = CaptionConfig(**{**QUICK, "epochs": 1, "scenes_per_epoch": 128, "test_scenes": 16})
    fit_captioner(build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER), tiny_dataset, config)
    assert len(taught) == 128 and not any("an" in s.split() for s in taught)
    assert any("a airplane" in s or "a automobile" in s for s in taught)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_the_label_smoothing_setting_is_the_one_training_uses(tiny_dataset, monkeypatch, smoothing):
    import core.caption.train as caption_train
    used = set()
    real = caption_train.loss_of
    monkeypatch.setattr(caption_train, "loss_of", lambda logits, tokens, s: used.add(s) or real(logits, tokens, s))
    config = CaptionConfig(**{**QUICK, "epochs": 1, "scenes_per_epoch": 64, "test_scenes": 16,
                              "label_smoothing": smoothing})
    fit_captioner(build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER), tiny_dataset, config)
    assert used == {smoothing}


def test_stop_ends_a_run_at_once_without_an_evaluation(tiny_dataset):
    config = CaptionConfig(**QUICK)
    control, events = Control(), []
    control.stop()
    result = fit_captioner(build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER), tiny_dataset, config,
                           Callbacks(on_event=events.append), control)
    assert result.status == "stopped" and not result.epochs and events[-1] == Event("stop", 0)


@pytest.mark.slow
def test_a_fine_tuned_pretrained_encoder_steps_at_its_share_of_the_learning_rate(tiny_dataset):
    """Fine-tuning moves a pretrained encoder gently (encoder_lr of the decoder's rate); from scratch it learns at the
    full rate; frozen, not at all."""
    def encoder_change(config, pretrained):
        model = build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER)
        before = [p.detach().clone() for p in model.encoder.parameters()]
        fit_captioner(model, tiny_dataset, config, pretrained=pretrained)
        return sum((p.detach() - b).abs().sum().item() for p, b in zip(model.encoder.parameters(), before))

    settings = {**QUICK, "epochs": 1, "scenes_per_epoch": 128, "test_scenes": 16}
    full = encoder_change(CaptionConfig(**settings), pretrained=False)
    gentle = encoder_change(CaptionConfig(**settings, encoder_mode="finetune", encoder_lr=0.01), pretrained=True)
    frozen = encoder_change(CaptionConfig(**settings, encoder_mode="frozen"), pretrained=True)
    assert frozen == 0 and 0 < gentle < full / 5


def _scene(*objects) -> Scene:
    return Scene("wide", "row2" if len(objects) == 2 else "single", tuple(objects), (0, 0, 0))


CAT_LEFT = SceneObject(3, 0, "left", (0, 16, 32, 48))
DOG_RIGHT = SceneObject(5, 1, "right", (64, 16, 96, 48))


def test_scores_count_meaning_objects_and_bleu():
    scenes = [_scene(CAT_LEFT, DOG_RIGHT)]
    right = score_captions(["a dog to the right of a cat"], scenes, CLASSES)  # a paraphrase: the same meaning
    assert right.exact == 1 and right.precision == 1 and right.recall == 1 and right.bleu == pytest.approx(1.0)
    half = score_captions(["a cat on the left and a frog on the right"], scenes, CLASSES)
    assert half.exact == 0 and half.precision == 0.5 and half.recall == 0.5 and 0 < half.bleu < 1
    babble = score_captions(["a a a the"], scenes, CLASSES)
    assert babble.exact == 0 and babble.recall == 0 and babble.bleu == 0
    counted = score_captions(["two cats side by side"], [_scene(CAT_LEFT, SceneObject(3, 2, "right", DOG_RIGHT.box))],
                             CLASSES)
    assert counted.exact == 1


def test_objects_named_are_counted_by_their_size_in_the_scene():
    small_bird = Scene("square", "single", (SceneObject(2, 4, "top", (22, 0, 42, 20), small=True),), (0, 0, 0))
    shrunk_pair = _scene(SceneObject(3, 0, "left", (0, 16, 28, 44)), SceneObject(5, 1, "right", (68, 16, 96, 44)))
    scenes = [_scene(CAT_LEFT, DOG_RIGHT), small_bird, shrunk_pair]
    said = [meaning_of(s, CLASSES) for s in ("a cat on the left and a frog on the right",  # one of two right
                                             "a small bird at the top", "a cat on the left and a dog on the right")]
    assert named_by_size(said, scenes, CLASSES) == {32: (2, 1), 28: (2, 2), 20: (1, 1)}
    wrong_place = [meaning_of("a small bird in the middle", CLASSES)]
    assert named_by_size(wrong_place + [None], [small_bird, shrunk_pair], CLASSES) == {28: (2, 0), 20: (1, 0)}


def test_classes_named_anywhere_forgive_the_place_but_not_the_class_or_the_count():
    pair = _scene(CAT_LEFT, DOG_RIGHT)
    said = [meaning_of(s, CLASSES) for s in ("a dog on the left and a cat on the right",  # both classes, places swapped
                                             "a cat on the left and a frog on the right",  # one class right
                                             "two cats side by side")]  # one cat counts once: the dog is missing
    assert classes_named(said, [pair] * 3, CLASSES) == (6, 2 + 1 + 1)
    assert classes_named([None], [pair], CLASSES) == (2, 0)


class Always(nn.Module):
    """A classifier that says `label` with certainty for any picture."""

    def __init__(self, label: int):
        super().__init__()
        self.label = label
        self.unused = nn.Parameter(torch.zeros(1))  # evaluation reads the parameters' dtype

    def forward(self, x):
        out = torch.full((len(x), 10), -20.0)
        out[:, self.label] = 20.0
        return out


def test_the_template_is_scored_by_what_its_boxes_say():
    single = Scene("square", "single", (SceneObject(3, 0, "middle", (16, 16, 48, 48)),), (0, 0, 0))
    pictures = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    assert score_template(Always(3), CLASSES, [single], pictures).exact == 1  # one big "cat" box, in the middle
    assert score_template(Always(5), CLASSES, [single], pictures).recall == 0


def test_captions_come_back_in_the_scenes_order(tiny_dataset):
    config = CaptionConfig(**QUICK)
    model = build_captioner(config, tiny_dataset.classes, SCRATCH_ENCODER)
    scenes = evaluation_scenes(tiny_dataset.test_y, 10, 30) + varied_test_scenes(tiny_dataset.test_y, 10, 30)
    together = caption_scenes(model, scenes, tiny_dataset.test_x)
    picked = [0, 1, 2, 30, 31, 32, 33, 59]
    alone = [caption_scenes(model, [scenes[i]], tiny_dataset.test_x)[0] for i in picked]
    assert [together[i] for i in picked] == alone


@pytest.fixture
def captioner_folder(tiny_dataset):
    job = CaptionJob(tiny_dataset, CaptionConfig(**{**QUICK, "epochs": 1}), encoder_source(None, CLASSES),
                     run_path("20260101-000000-captioner-abc123"))
    job.start()
    wait_for(lambda: job.join(0.1), 120, "the captioner job")
    assert job.snapshot().status == "finished", job.snapshot().reason
    return job.folder


@pytest.mark.slow
def test_a_captioner_run_folder_reads_back_and_captions(captioner_folder, tiny_dataset):
    run = open_captioner(captioner_folder)
    model = load_captioner(run)
    assert run.vocab == vocabulary(CLASSES) and run.summary.kind == "captioner"
    assert not any(p.requires_grad for p in model.parameters())
    [listed] = [r for r in list_runs(kind="captioner") if not r.starter]  # the shipped starter follows
    assert listed.id == captioner_folder.name and all(r.starter for r in list_runs(kind="classifier"))
    last = json.loads((captioner_folder / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "epoch" and last["v"] == HISTORY_VERSION
    epoch = read_history(captioner_folder).epochs[-1]
    assert isinstance(epoch, CaptionEpochReport) and epoch.samples and epoch.test_accuracy == epoch.exact


@pytest.mark.slow
def test_a_captioner_saved_before_pixel_places_still_loads_and_captions(captioner_folder, tiny_dataset):
    """Runs saved before the grid carried pixel places have no such field in captioner.json and a narrower first
    decoder layer: they load as they were and caption as they did."""
    run = open_captioner(captioner_folder)
    old = Captioner(run.encoder, replace(run.decoder, pixel_places=False), run.vocab, seed=1).eval()
    save_captioner(captioner_folder / "weights.safetensors", old, run.classes)
    described = json.loads((captioner_folder / "captioner.json").read_text())
    del described["decoder"]["pixel_places"]
    (captioner_folder / "captioner.json").write_text(json.dumps(described))
    loaded = load_captioner(open_captioner(captioner_folder))
    assert loaded.decoder_spec.pixel_places is False
    scenes = evaluation_scenes(tiny_dataset.test_y, len(CLASSES), 8)
    assert caption_scenes(loaded, scenes, tiny_dataset.test_x) == caption_scenes(old, scenes, tiny_dataset.test_x)


@pytest.mark.slow
def test_a_captioner_saved_before_varied_scenes_reads_pictures_by_the_old_rule(captioner_folder, tiny_dataset):
    """Runs saved before issue 33 have no fit in captioner.json and no varied settings: they fit pictures into 96x64 as
    they were trained to, read as trained on the fixed scenes only, and still caption."""
    described = json.loads((captioner_folder / "captioner.json").read_text())
    assert described["fit"] == CaptionConfig().picture
    del described["fit"]
    (captioner_folder / "captioner.json").write_text(json.dumps(described))
    config = json.loads((captioner_folder / "config.json").read_text())
    for key in ("varied_share", "picture", "varied_test_scenes", "scales"):
        del config[key]
    (captioner_folder / "config.json").write_text(json.dumps(config))
    run = open_captioner(captioner_folder)
    assert run.fit == OLD_FIT and run.config.varied_share == 0 and run.config.picture == OLD_FIT.name
    assert run.config.scales == 1
    model = load_captioner(run)
    assert model.fit == OLD_FIT and tuple(prepare(model, Image.new("RGB", (400, 160))).shape) == (1, 3, 64, 96)
    assert all(caption_scenes(model, varied_test_scenes(tiny_dataset.test_y, 10, 4), tiny_dataset.test_x))


@pytest.mark.slow
@pytest.mark.parametrize("fit", ["unknown", ["a list"]])
def test_a_captioner_with_a_forged_fit_is_refused_by_name(captioner_folder, fit):
    described = json.loads((captioner_folder / "captioner.json").read_text())
    (captioner_folder / "captioner.json").write_text(json.dumps({**described, "fit": fit}))
    with pytest.raises(RunError, match="captioner.json or config.json is damaged"):
        open_captioner(captioner_folder)


@pytest.mark.slow
def test_a_captioner_saved_before_label_smoothing_reads_as_trained_without_it(captioner_folder):
    config = json.loads((captioner_folder / "config.json").read_text())
    assert config["label_smoothing"] == CaptionConfig().label_smoothing  # recorded for new runs
    del config["label_smoothing"]
    (captioner_folder / "config.json").write_text(json.dumps(config))
    assert open_captioner(captioner_folder).config.label_smoothing == 0.0


@pytest.mark.slow
def test_a_changed_vocabulary_is_refused_with_the_reason(captioner_folder):
    vocab = json.loads((captioner_folder / "vocab.json").read_text())
    vocab[10], vocab[11] = vocab[11], vocab[10]
    (captioner_folder / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(RunError, match="vocab.json differs from the vocabulary the weights were trained with"):
        load_captioner(open_captioner(captioner_folder))
    (captioner_folder / "vocab.json").write_text('{"not": "a list"}')
    with pytest.raises(RunError, match="vocab.json is damaged"):
        open_captioner(captioner_folder)


@pytest.mark.slow
def test_runs_of_the_other_kind_are_refused_by_name(captioner_folder, trained_run):
    with pytest.raises(RunError, match="is a captioner run"):
        open_run(captioner_folder)
    with pytest.raises(RunError, match="is a classifier run"):
        open_captioner(run_path(trained_run))
    with pytest.raises(RunError, match="is a captioner run"):
        encoder_source(captioner_folder, CLASSES)


@pytest.mark.slow
def test_a_classifier_run_becomes_a_frozen_encoder_with_its_own_weights(trained_run, tiny_dataset):
    source = encoder_source(run_path(trained_run), CLASSES)
    config = CaptionConfig(**{**QUICK, "epochs": 1, "reuse": 3, "encoder_mode": "frozen"})
    model = build_captioner(config, CLASSES, source.spec, source.state)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    steps = []
    fit_captioner(model, tiny_dataset, config, Callbacks(on_step=steps.append), pretrained=True)
    assert len(steps) == 3 * 384 // 32  # each drawn scene's features serve three steps
    after = model.encoder.state_dict()
    assert before and all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm statistics kept
    assert any(k.endswith("weight") for k in before)
