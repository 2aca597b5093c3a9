"""Training a captioner (its settings: CaptionConfig, core/caption/config.py). fit_captioner() draws fresh scenes
from the training pictures every step, trains with teacher forcing, and after every epoch captions the fixed test
scenes and scores them. Its steps run in the one loop (core/training/loop.py) with the same callbacks and Control
(stop, learning rate) as the classifier's fit()."""
from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass

import torch
from torch import nn

from core import recipe
from core.caption.adapt import ClassifierHead, adapt_encoder
from core.caption.config import CaptionConfig
from core.caption.evaluate import CaptionScores, caption_scenes, score_captions
from core.caption.fitting import PictureFit
from core.caption.inputs import SceneMix, as_input
from core.caption.model import Captioner, encode_sentences, loss_of
from core.caption.scenes import Scene, evaluation_scenes, taught, vocabulary
from core.caption.varied import VariedScene, varied_test_scenes
from core.caption.varied_scores import VariedScores, score_varied
from core.data.batches import normalize
from core.data.sources import Dataset
from core.device import resolve_device
from core.models.spec import ModelSpec
from core.training.callbacks import (
    BeforeEpoch,
    Callbacks,
    Control,
    DivergenceGuard,
    EpochEnd,
    LearningRateFromControl,
    Pacer,
    StopOnControl,
    lower_lr,
)
from core.training.config import ConfigError
from core.training.history import CaptionEpochReport, Event
from core.training.loop import Diverged, Loop, StepLoss, StepOutput
from core.training.optim import LR_SCALE
from core.training.schedule import schedule_factor
from core.training.status import RunStatus
from core.training.train import FitResult

SAMPLES = 8  # test scenes captioned in every epoch's report, so a person sees the sentences improve


def build_captioner(config: CaptionConfig, classes, encoder_spec: ModelSpec,
                    encoder_state: dict | None = None) -> Captioner:
    model = Captioner(encoder_spec, config.decoder(), vocabulary(classes), seed=config.seed, fit=config.fit())
    if encoder_state is not None:
        model.encoder.convs.load_state_dict(encoder_state)
    return model


def fit_captioner(model: Captioner, dataset: Dataset, config: CaptionConfig, callbacks: Callbacks | None = None,
                  control: Control | None = None, pretrained: bool = False,
                  head: ClassifierHead | None = None) -> FitResult:
    """Train `model` on scenes drawn from the training pictures; `pretrained` with encoder_mode "frozen" keeps the
    encoder's weights (and its BatchNorm statistics) as they are; "adapt" first trains them with the classifier's
    `head` on the scenes' objects (core.caption.adapt), then keeps them."""
    config.check()
    callbacks, control = callbacks or Callbacks(), control or Control()
    device = resolve_device(config.device)
    model.to(device)
    frozen = pretrained and config.encoder_mode in ("frozen", "adapt")
    total = _plan(config, frozen)[2]
    offset, adapt_seconds = 0, 0.0  # the adapt phase's steps (captioning steps count on after them) and time
    if pretrained and config.encoder_mode == "adapt":
        if head is None:
            raise ConfigError("encoder mode adapt needs the classifier's head (give the encoder run's)")
        try:
            offset, adapt_seconds = _adapt(model, head, dataset, config, device, callbacks, control, total)
        except Diverged as exc:  # the encoder's weights are broken: no captioning on them
            callbacks.on_event(Event("diverged", exc.step, reason=str(exc)))
            return FitResult(model.eval(), RunStatus.DIVERGED, str(exc))
        if control.stopped:
            callbacks.on_event(Event("stop", offset))
            return FitResult(model.eval(), RunStatus.STOPPED)
    model.encoder.requires_grad_(not frozen)
    result = _caption(model, dataset, config, callbacks, control, device, frozen, pretrained, (offset, adapt_seconds))
    model.eval()
    return result


def _plan(config: CaptionConfig, frozen: bool) -> tuple[int, int, int]:
    """(steps per epoch, uses of each drawn scene, steps of the whole captioning phase): a frozen encoder's features
    are reused, so the same scenes make more steps."""
    per_epoch = max(1, config.scenes_per_epoch // config.batch_size)
    uses = config.reuse if frozen else 1
    return per_epoch, uses, per_epoch * uses * config.epochs


def _caption(model: Captioner, dataset: Dataset, config: CaptionConfig, callbacks: Callbacks, control: Control,
             device: torch.device, frozen: bool, pretrained: bool, adapted: tuple[int, float]) -> FitResult:
    """The captioning phase: teacher forcing on fresh scenes in the one loop, its steps counted on after the `adapted`
    phase's (steps, seconds), whose time the run's time includes."""
    offset, adapt_seconds = adapted
    per_epoch, uses, total = _plan(config, frozen)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(_param_groups(model, config, pretrained and not frozen), lr=config.lr)
    classes = list(dataset.classes)
    sampler = SceneMix(dataset.train_y, len(classes), config.varied_share)
    tests = EvaluationScenes(evaluation_scenes(dataset.test_y, len(classes), config.test_scenes),
                       evaluation_scenes(dataset.test_y, len(classes), config.held_out_scenes, held="only"),
                       varied_test_scenes(dataset.test_y, len(classes), config.varied_test_scenes)
                       if config.varied_test_scenes else [])
    rng = random.Random(config.seed)

    def prepare(epoch: int) -> None:
        model.train()
        if frozen:
            model.encoder.eval()

    def step(batch) -> StepOutput:
        inputs, scenes = batch
        captions = [taught(rng.choice(s.training_captions(classes))) for s in scenes]
        loss = _train_step(model, optimizer, trainable, inputs, captions, device, config.label_smoothing)
        return StepOutput(loss, len(scenes))

    pacer = Pacer(callbacks, device, carried=(adapt_seconds, offset * config.batch_size))
    epochs = EpochEnd(lambda epoch: _epoch_report(model, dataset, tests, device, epoch, pacer.mean_step_loss,
                                                  pacer.started), callbacks, model)
    watchers = [BeforeEpoch(prepare), StopOnControl(control, callbacks), LearningRateFromControl(control, callbacks),
                DivergenceGuard(lower_lr(), callbacks), pacer, epochs]
    loop = Loop(optimizer, total, config.lr, lambda done: schedule_factor("onecycle", done / total), watchers, offset)
    loop.run((_epoch_batches(model, sampler, rng, dataset.train_x, config, per_epoch, uses, device)
              for _ in range(config.epochs)), step)
    return FitResult(model, loop.status, loop.reason, epochs.epochs, pacer.train_time,
                     pacer.seen / max(pacer.train_time, 1e-9))


def _adapt(model: Captioner, head: ClassifierHead, dataset: Dataset, config: CaptionConfig, device,
           callbacks: Callbacks, control: Control, caption_steps: int) -> tuple[int, float]:
    """The adapt phase, reported as steps of epoch 0 (its loss is the objects' classification loss) and closed by an
    "adapt" event saying how often the grid named the objects before it and at its end; returns its steps and seconds.
    Raises Diverged when the encoder's loss stops being a number; a Stop is the caller's to report."""
    started = time.perf_counter()
    head = ClassifierHead(copy.deepcopy(head.tail).to(device), head.size, head.mean)  # the source's head stays as it was
    # no reports from Stop and the guard: the caller reports them, after the "adapt" event, and ends the run
    watchers = [StopOnControl(control), DivergenceGuard(_adapt_diverged),
                Pacer(callbacks, device, later_steps=caption_steps), _Outcome()]
    done = adapt_encoder(model.encoder.convs, head, dataset.train_x, dataset.train_y, len(dataset.classes),
                         config.adapt_scenes, config.batch_size, config.seed, device, watchers=watchers,
                         fit=model.fit, varied_share=config.varied_share, scales=model.encoder.scales)
    if watchers[-1].diverged:
        raise watchers[-1].diverged
    if done:  # none when Stop came before the first step
        tenth = done[-max(1, len(done) // 10):]  # the last tenth, averaged: one batch is ~100 objects, noisy
        first, last = done[0].objects_right, sum(r.objects_right for r in tenth) / len(tenth)  # first: before a step
        said = (f"encoder adapted on {len(done) * config.batch_size:,} training scenes: objects named from its grid "
                f"{first:.0%} -> {last:.0%} (of pictures the classifier trained on)")
        callbacks.on_event(Event("adapt", len(done), reason=said))
    return len(done), time.perf_counter() - started


def _adapt_diverged(s: StepLoss) -> str:
    return (f"the encoder's loss became {s.loss} at step {s.step} while adapting to the scenes; nothing was "
            "captioned or saved. Try encoder mode frozen, or another classifier run")


class _Outcome:
    """Keeps how a loop diverged, for a caller that ends the whole run on it."""

    diverged: Diverged | None = None

    def after_run(self, loop: Loop) -> None:
        if loop.status is RunStatus.DIVERGED:
            self.diverged = Diverged(loop.reason, loop.diverged_at)


def _param_groups(model: Captioner, config: CaptionConfig, finetuning: bool) -> list[dict]:
    """The decoder at the full learning rate; the encoder at `encoder_lr` of it when it is a pretrained one being
    fine-tuned, else at the full rate too (from scratch it learns as fast as the decoder)."""
    share = config.encoder_lr if finetuning else 1.0
    groups = [{"params": list(model.decoder.parameters()), LR_SCALE: 1.0}]
    if any(p.requires_grad for p in model.encoder.parameters()):
        groups.append({"params": [p for p in model.encoder.parameters() if p.requires_grad], LR_SCALE: share})
    return groups


CHUNK = 16  # batches drawn and encoded together when a frozen encoder's features are reused


def draw_scenes(sampler: SceneMix, rng: random.Random, pictures: torch.Tensor, batch_size: int, fit: PictureFit):
    """One batch of fresh scenes on one canvas, as the encoder's input: (uint8 pixels, scenes)."""
    scenes = sampler.batch(rng, batch_size)
    return as_input(scenes, pictures, fit), scenes


def _epoch_batches(model, sampler, rng, pictures, config, batches: int, uses: int, device):
    """An epoch's (inputs, scenes): normalized pixels, or, with a frozen encoder (uses > 1), its features, computed
    once per chunk of fresh scenes and then used `uses` times in a shuffled order. The frozen encoder costs most of a
    step, so each scene's features serve several captions of it: about 3x the decoder steps per second here."""
    left = batches
    while left:
        drawn = [draw_scenes(sampler, rng, pictures, config.batch_size, model.fit) for _ in range(min(CHUNK, left))]
        left -= len(drawn)
        if uses == 1:
            yield from ((normalize(px.to(device)), scenes) for px, scenes in drawn)
            continue
        with torch.no_grad():
            encoded = [(model.encoder(normalize(px.to(device)))[0], scenes) for px, scenes in drawn]
        for _ in range(uses):
            yield from (encoded[i] for i in rng.sample(range(len(encoded)), len(encoded)))


def _train_step(model, optimizer, trainable, inputs, captions, device, smoothing: float) -> torch.Tensor:
    """Teacher forcing on one batch; `inputs` are pictures (B, 3, H, W) or an encoder's grid (B, cells, features)."""
    tokens = encode_sentences(captions, model.vocab).to(device)
    logits, _ = model.decoder(inputs, tokens) if inputs.dim() == 3 else model(inputs, tokens)
    loss = loss_of(logits, tokens, smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(trainable, recipe.CAPTION_GRAD_CLIP)  # recurrent nets spike now and then; a clipped step stays a step
    optimizer.step()
    return loss.detach()


@dataclass(frozen=True)
class EvaluationScenes:
    """The fixed scenes every epoch is scored on: the fixed kind, its held-out pairs, and the varied ones."""
    fixed: list[Scene]
    held: list[Scene]
    varied: list[VariedScene]


def _epoch_report(model, dataset, tests: EvaluationScenes, device, epoch, train_loss, started) -> CaptionEpochReport:
    classes = list(dataset.classes)
    said = caption_scenes(model, tests.fixed, dataset.test_x, device)
    scores: CaptionScores = score_captions(said, tests.fixed, classes)
    held_scores = score_captions(caption_scenes(model, tests.held, dataset.test_x, device), tests.held, classes)
    varied_said = caption_scenes(model, tests.varied, dataset.test_x, device)
    varied = score_varied(varied_said, tests.varied, classes) if tests.varied else None
    samples = [{"scene": i, "sentence": said[i]} for i in range(min(SAMPLES, len(tests.fixed)))]
    samples += [{"varied": i, "sentence": varied_said[i]} for i in range(min(SAMPLES, len(tests.varied)))]
    return CaptionEpochReport(
        epoch=epoch, train_loss=train_loss, exact=scores.exact, precision=scores.precision, recall=scores.recall,
        bleu=scores.bleu, held_out_exact=held_scores.exact, held_out_recall=held_scores.recall, samples=samples,
        seconds=time.perf_counter() - started, **_varied_fields(varied),
    )


def _varied_fields(scores: VariedScores | None) -> dict:
    if scores is None:
        return {}
    return {"varied_exact": scores.overall.exact, "varied_recall": scores.overall.recall,
            "varied_bleu": scores.overall.bleu, "varied_large_exact": scores.no_small.exact,
            "varied_large_recall": scores.no_small.recall}
