"""The training recipe: fit() which trains, evaluates each epoch and reports through callbacks. Its steps run in the
one loop (core.training.loop); the schedule, the optimizer and what watches a run live beside it."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from core import recipe
from core.data.batches import (
    augment,
    normalize,
    shuffled_batches,
    steps_per_epoch,
    with_plain_views,
)
from core.data.sources import Dataset
from core.device import has_fast_bf16, resolve_device
from core.models.modules import SeededDropout, WhiteningConv
from core.models.spec import ModelSpec, build_model
from core.training.callbacks import (
    BeforeEpoch,
    Callbacks,
    Control,
    DivergenceGuard,
    EarlyStop,
    EpochEnd,
    LearningRateFromControl,
    Pacer,
    StopOnControl,
    lower_lr,
)
from core.training.config import TrainConfig
from core.training.evaluate import accuracy_report, predict_classes
from core.training.history import EpochReport
from core.training.loop import Loop, StepOutput
from core.training.optim import make_optimizer
from core.training.schedule import Lookahead, schedule_factor
from core.training.status import RunStatus


@dataclass
class FitResult:
    model: nn.Module
    status: RunStatus
    reason: str = ""
    epochs: list[EpochReport] = field(default_factory=list)
    train_seconds: float = 0.0
    images_per_second: float = 0.0


def init_from_data(model: nn.Module, train_x: torch.Tensor) -> list[nn.Module]:
    """Data-dependent layers (PatchWhiten) look at some training images (recipe.WHITEN_IMAGES) before training."""

    whiteners = [m for m in model.modules() if isinstance(m, WhiteningConv)]
    for m in whiteners:
        m.init_from(normalize(train_x[:recipe.WHITEN_IMAGES]).to(m.weight.device))
    return whiteners


def fp16_weights(config: TrainConfig, device: torch.device) -> bool:
    return config.precision == "fp16" and device.type == "cuda"


def autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 when asked for; for auto (and fp16 off CUDA), bf16 only where the hardware runs it natively."""
    if fp16_weights(config, device):
        return None  # the weights themselves are fp16: nothing to cast
    if config.precision == "bf16" or (config.precision in ("auto", "fp16") and has_fast_bf16(device)):
        return torch.bfloat16
    return None


def holdout_split(n: int, holdout: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices trained on, indices held out) of n training images. At most a fifth is held out, so a preset's 2,000
    still leaves a small dataset something to learn from."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(recipe.HOLDOUT_SEED))
    keep = n - min(holdout, int(n * recipe.HOLDOUT_MAX_SHARE))
    return order[:keep].sort().values, order[keep:].sort().values


def training_indices(n: int, config: TrainConfig) -> torch.Tensor | None:
    """Indices of the training images a run learns from; None means all n (the fast path: no copy)."""
    idx = holdout_split(n, config.holdout)[0] if config.holdout else None
    available = n if idx is None else len(idx)
    if config.limit_train and config.limit_train < available:
        keep = torch.randperm(available, generator=torch.Generator().manual_seed(config.seed))[: config.limit_train]
        idx = keep if idx is None else idx[keep]
    return idx


def unseen_indices(n: int, config: TrainConfig) -> torch.Tensor:
    """Training images the run never learned from: its held-out slice, else what limit_train left out."""
    if config.holdout:
        return holdout_split(n, config.holdout)[1]
    used = training_indices(n, config)
    if used is None:
        return torch.empty(0, dtype=torch.long)
    mask = torch.ones(n, dtype=torch.bool)
    mask[used] = False
    return mask.nonzero().flatten()


def held_out_images(dataset: Dataset, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images held out of training (TrainConfig.holdout), which each epoch is judged on for the best
    epoch and early stopping; empty without a holdout."""
    idx = holdout_split(len(dataset.train_x), config.holdout)[1] if config.holdout else torch.empty(0, dtype=torch.long)
    return dataset.train_x[idx], dataset.train_y[idx]


def training_subset(dataset: Dataset, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    idx = training_indices(len(dataset.train_x), config)
    if idx is None:
        return dataset.train_x, dataset.train_y
    return dataset.train_x[idx], dataset.train_y[idx]


def fit(
    spec: ModelSpec,
    dataset: Dataset,
    config: TrainConfig,
    callbacks: Callbacks | None = None,
    control: Control | None = None,
    model: nn.Module | None = None,
) -> FitResult:
    """Build the model (or continue `model`), then per epoch: train, evaluate on the test split, report."""
    config.check()
    with _threads_for(config):
        return _fit(spec, dataset, config, callbacks, control, model)


@contextlib.contextmanager
def _threads_for(config: TrainConfig):
    """One intra-op thread for small batches on a CPU, in the calling thread only (OpenMP's setting is per thread).
    The `seed` preset at batch 4 ran as fast or faster on one thread as on two here (1,089-1,411 against
    1,112-1,140 images/s), and the free core keeps the dashboard from slowing it down."""
    before = torch.get_num_threads()
    small = config.batch_size <= recipe.SMALL_BATCH and resolve_device(config.device).type == "cpu"
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small:
            torch.set_num_threads(before)


def _fit(spec, dataset, config, callbacks, control, model) -> FitResult:
    """The recipe, top to bottom; what watches the steps (Stop, a new learning rate, divergence, progress, Lookahead,
    the evaluation after each epoch) are callbacks on the one loop."""
    callbacks, control = callbacks or Callbacks(), control or Control()
    device = resolve_device(config.device)
    fresh = model is None
    model, memory_format = _place(model or build_model(spec, seed=config.seed), config, device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    amp = autocast_dtype(config, device)
    train_x, train_y = (t.to(device) for t in training_subset(dataset, config))  # the whole split on the device
    whiteners = init_from_data(model, train_x) if fresh else []
    optimizer = make_optimizer(model, config)
    forward = torch.compile(model) if config.compile else model
    # the run's own random streams (the process-wide one is shared by every run in a server)
    generator = torch.Generator().manual_seed(config.seed)
    aug_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    seed_dropout(model, torch.Generator(device=device).manual_seed(config.seed + 2))
    total = steps_per_epoch(len(train_x), config.batch_size) * config.epochs

    crop = {"size": 32}  # progressive resizing: the side the current epoch trains at

    def prepare(epoch: int) -> None:
        model.train()
        crop["size"] = config.early_size if epoch <= config.early_epochs else 32
        for m in whiteners:
            m.bias.requires_grad = not config.whiten_bias_epochs or epoch <= config.whiten_bias_epochs

    def step(idx: torch.Tensor) -> StepOutput:
        x, y, batch_loss = training_batch(normalize(train_x[idx]), train_y[idx], config, aug_gen, loss_fn)
        x = random_crop(x, crop["size"], aug_gen).to(input_dtype(model)).contiguous(memory_format=memory_format)
        logits, loss = train_step(forward, optimizer, batch_loss, x, y, device, amp)
        return StepOutput(loss.detach(), len(idx), logits[:len(idx)], y[:len(idx)])  # twins appended are not counted

    pacer = Pacer(callbacks, device)
    held_x, held_y = held_out_images(dataset, config)
    epochs = EpochEnd(lambda epoch: _epoch_report(model, dataset, config, device, epoch, pacer, held_x, held_y),
                      callbacks, model)
    watchers = [BeforeEpoch(prepare), StopOnControl(control, callbacks), LearningRateFromControl(control, callbacks),
                DivergenceGuard(lower_lr(", or add BatchNorm2d after the convolutions"), callbacks),
                *([Lookahead(model)] if config.lookahead else []), pacer, epochs,
                EarlyStop(config.patience, epochs, callbacks)]
    loop = Loop(optimizer, total, config.lr, lambda done: schedule_factor(config.schedule, done / total), watchers)
    loop.run((shuffled_batches(len(train_x), config.batch_size, generator, device) for _ in range(config.epochs)), step)
    return FitResult(model, loop.status, loop.reason, epochs.epochs, pacer.train_time,
                     pacer.seen / max(pacer.train_time, 1e-9))


def _place(model: nn.Module, config: TrainConfig, device: torch.device) -> tuple[nn.Module, torch.memory_format]:
    """The model on its device, in its memory layout and number format."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels once
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device).to(memory_format=memory_format)
    if fp16_weights(config, device):
        half_weights(model)
    return model, memory_format


def random_crop(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """The batch cropped to size x size at one random place (progressive resizing); unchanged at full size."""
    if size >= x.shape[-1]:
        return x
    top, left = torch.randint(0, x.shape[-1] - size + 1, (2,), generator=generator, device=generator.device).tolist()
    return x[..., top:top + size, left:left + size]


def seed_dropout(model: nn.Module, generator: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator


def half_weights(model: nn.Module) -> None:
    """fp16 weights and activations (airbench's GPU setting), BatchNorm kept in fp32 for its statistics."""
    model.half()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.float()


def input_dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def train_step(forward, optimizer, loss_fn, x, y, device: torch.device, amp: torch.dtype | None):
    """One step of gradient descent: forward, loss, gradients, update. Returns (logits, loss)."""
    with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
        logits = forward(x)
        loss = loss_fn(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return logits, loss


def training_batch(x: torch.Tensor, y: torch.Tensor, config: TrainConfig, generator: torch.Generator, loss_fn):
    """A step's images augmented, their labels, and the loss to train on them: with `consistency`, each
    photo-augmented image's plain view is appended, and the loss also pulls the two views' answers together."""
    aug = config.augmentation
    if not (config.consistency and aug.photo):
        return augment(x, aug, generator), y, loss_fn
    x, twins = with_plain_views(x, aug, generator)
    n = len(y)

    def loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return loss_fn(logits, labels) + config.consistency * jensen_shannon(logits[twins], logits[n:])

    return x, torch.cat([y, y[twins]]), loss


def jensen_shannon(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between two views' class distributions (from their logits), averaged over images;
    0 for none (a small photo share can leave a batch without a photo-augmented image)."""
    if not len(a):
        return a.sum()
    p, q = a.softmax(1), b.softmax(1)
    log_mean = ((p + q) / 2).clamp_min(1e-7).log()
    return (nn.functional.kl_div(log_mean, p, reduction="batchmean")
            + nn.functional.kl_div(log_mean, q, reduction="batchmean")) / 2


def _epoch_report(model, dataset, config, device, epoch: int, pace: Pacer, held_x, held_y) -> EpochReport:
    def predict(images: torch.Tensor) -> torch.Tensor:
        return predict_classes(model, images, device, tta=config.tta, amp=autocast_dtype(config, device),
                               channels_last=config.channels_last)

    report = accuracy_report(predict(dataset.test_x), dataset.test_y, dataset.classes)
    held = (predict(held_x) == held_y).float().mean().item() if len(held_y) else None
    return EpochReport(
        epoch=epoch,
        train_loss=pace.epoch_loss,
        train_accuracy=pace.epoch_accuracy,
        test_accuracy=report.accuracy,
        per_class_accuracy=report.per_class_accuracy,
        seconds=time.perf_counter() - pace.started,
        train_seconds=pace.train_time,
        holdout_accuracy=held,
    )
