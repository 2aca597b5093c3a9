"""The training recipe: fit() which trains, evaluates each epoch and reports through callbacks."""
from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from core import recipe
from core.bounds import bounds_of
from core.data.batches import (
    augment,
    normalize,
    shuffled_batches,
    steps_per_epoch,
    with_plain_views,
)
from core.data.sources import Dataset
from core.device import has_fast_bf16, resolve_device
from core.models.layers import ModelSpec, build_model
from core.models.modules import SeededDropout, WhiteningConv
from core.training.config import ConfigError, TrainConfig
from core.training.evaluate import accuracy_report, predict_classes
from core.training.history import EpochReport, Event, StepReport
from core.training.status import RunStatus

# ----------------------------------------------------------------------------------------------------------------
# reports and control


@dataclass
class Callbacks:
    on_step: Callable[[StepReport], None] = lambda report: None
    on_epoch: Callable[[EpochReport, nn.Module], None] = lambda report, model: None
    on_event: Callable[[Event], None] = lambda event: None


class Control:
    """Shared between a running fit() and whoever watches it: stop, and change the learning rate mid-run."""

    def __init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._lr: float | None = None

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def set_lr(self, lr: float) -> None:
        problem = bounds_of(TrainConfig, "lr").problem("lr", lr)
        if problem:
            raise ConfigError(problem)
        with self._lock:
            self._lr = float(lr)

    def take_lr(self) -> float | None:
        with self._lock:
            lr, self._lr = self._lr, None
        return lr


@dataclass
class FitResult:
    model: nn.Module
    status: RunStatus
    reason: str = ""
    epochs: list[EpochReport] = field(default_factory=list)
    train_seconds: float = 0.0
    images_per_second: float = 0.0


class Diverged(RuntimeError):
    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


# ----------------------------------------------------------------------------------------------------------------
# the loop


def schedule_factor(schedule: str, progress: float) -> float:
    """Multiplier on the peak learning rate at `progress` (0..1) through the run."""
    if schedule == "onecycle":
        warm = recipe.ONECYCLE_WARMUP
        return progress / warm if progress < warm else max(0.0, (1 - progress) / (1 - warm))
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "triangle":  # airbench: 0.2 -> 1 at 23% of the run -> 0.07 at the end
        start, peak, end = recipe.TRIANGLE_START, recipe.TRIANGLE_PEAK_AT, recipe.TRIANGLE_END
        if progress < peak:
            return start + (1 - start) * progress / peak
        return 1 - (1 - end) * (progress - peak) / (1 - peak)
    return 1.0


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Weights decay; other vectors do not, except BatchNorm shifts under lr_bias_scale (airbench's recipe keeps
    their per-step decay equal to the weights'). Each group's 'lr_scale' multiplies the scheduled rate."""
    norm_shifts = {id(m.bias) for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.bias is not None}
    trainable = [p for p in model.parameters() if p.requires_grad]
    weights = [p for p in trainable if p.ndim > 1]
    shifts = [p for p in trainable if id(p) in norm_shifts]
    others = [p for p in trainable if p.ndim <= 1 and id(p) not in norm_shifts]
    scale = config.lr_bias_scale
    groups = [
        {"params": weights, "weight_decay": config.weight_decay, "lr_scale": 1.0},
        {"params": others, "weight_decay": 0.0, "lr_scale": 1.0},
        {"params": shifts, "weight_decay": config.weight_decay / scale if scale > 1 else 0.0, "lr_scale": scale},
    ]
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    betas = (config.momentum, recipe.ADAM_BETA2)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=config.lr, betas=betas)


class Lookahead:
    """airbench's weight averaging: every few steps from 30% of the run, move an average towards the weights and
    copy it back, with a decay that grows towards the end (fast early, strongly averaged late). Constants in recipe."""

    EVERY, START = recipe.LOOKAHEAD_EVERY, recipe.LOOKAHEAD_START

    def __init__(self, model: nn.Module):
        # parameters and BatchNorm statistics, as the tensors themselves: updated in place, in one fused call each
        self.state = [v for v in model.state_dict().values() if v.dtype.is_floating_point]
        self.average: list[torch.Tensor] | None = None

    @torch.no_grad()
    def step(self, step: int, total: int) -> None:
        if step / total < self.START or step % self.EVERY:
            return
        if self.average is None:
            self.average = [v.clone() for v in self.state]
            return
        torch._foreach_lerp_(self.average, self.state, 1 - recipe.LOOKAHEAD_DECAY**self.EVERY * (step / total) ** 3)
        torch._foreach_copy_(self.state, self.average)

    @torch.no_grad()
    def finish_epoch(self) -> None:
        if self.average is not None:
            torch._foreach_copy_(self.state, self.average)


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
    """The recipe, top to bottom; timing and reporting live in _Pace."""
    callbacks, control = callbacks or Callbacks(), control or Control()
    device = resolve_device(config.device)
    fresh = model is None
    model, memory_format = _place(model or build_model(spec, seed=config.seed), config, device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    amp = autocast_dtype(config, device)
    train_x, train_y = (t.to(device) for t in training_subset(dataset, config))  # the whole split on the device
    whiteners = init_from_data(model, train_x) if fresh else []
    optimizer = make_optimizer(model, config)
    lookahead = Lookahead(model) if config.lookahead else None
    forward = torch.compile(model) if config.compile else model
    # the run's own random streams (the process-wide one is shared by every run in a server)
    generator = torch.Generator().manual_seed(config.seed)
    aug_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    seed_dropout(model, torch.Generator(device=device).manual_seed(config.seed + 2))
    total = steps_per_epoch(len(train_x), config.batch_size) * config.epochs
    pace, base_lr, result = _Pace(device, total, callbacks), config.lr, FitResult(model, RunStatus.FINISHED)
    try:
        for epoch in range(1, config.epochs + 1):
            model.train()
            for m in whiteners:
                m.bias.requires_grad = not config.whiten_bias_epochs or epoch <= config.whiten_bias_epochs
            pace.start_epoch(epoch)
            for idx in shuffled_batches(len(train_x), config.batch_size, generator, device):
                base_lr = _take_new_lr(control, base_lr, pace.step, callbacks)
                lr = base_lr * schedule_factor(config.schedule, pace.step / total)
                for group in optimizer.param_groups:
                    group["lr"] = lr * group["lr_scale"]
                x, y, batch_loss = training_batch(normalize(train_x[idx]), train_y[idx], config, aug_gen, loss_fn)
                x = x.to(input_dtype(model)).contiguous(memory_format=memory_format)
                logits, loss = train_step(forward, optimizer, batch_loss, x, y, device, amp)
                pace.record(logits[:len(idx)], loss, y[:len(idx)], lr, now=control.stopped)
                if lookahead:
                    lookahead.step(pace.step, total)
                if control.stopped:
                    break
            if lookahead:
                lookahead.finish_epoch()
            pace.end_epoch()
            if control.stopped:
                result.status = RunStatus.STOPPED  # no evaluation: Stop must take effect at once; weights are kept
                callbacks.on_event(Event("stop", pace.step))
                break
            report = _epoch_report(model, dataset, config, device, epoch, pace)
            result.epochs.append(report)
            callbacks.on_epoch(report, model)
    except Diverged as exc:
        result.status, result.reason = RunStatus.DIVERGED, str(exc)
        callbacks.on_event(Event("diverged", exc.step, reason=str(exc)))
    result.train_seconds = pace.train_time
    result.images_per_second = pace.seen / max(pace.train_time, 1e-9)
    return result


def _place(model: nn.Module, config: TrainConfig, device: torch.device) -> tuple[nn.Module, torch.memory_format]:
    """The model on its device, in its memory layout and number format."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels once
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device).to(memory_format=memory_format)
    if fp16_weights(config, device):
        half_weights(model)
    return model, memory_format


def _take_new_lr(control: Control, base_lr: float, step: int, callbacks: Callbacks) -> float:
    """A learning rate set mid-run (the page's or the CLI's), recorded as an event; else the current one."""
    new_lr = control.take_lr()
    if new_lr is None:
        return base_lr
    callbacks.on_event(Event("lr", step, lr_from=base_lr, lr_to=new_lr))
    return new_lr


class _Pace:
    """The bookkeeping around the recipe: training time apart from evaluation (for images/s and time-to-accuracy),
    each epoch's loss and accuracy sums, and step reports. Reading a loss waits for the device: free on a CPU, a
    stall on a GPU, so there the losses are read and reported in batches, twice a second."""

    def __init__(self, device: torch.device, total: int, callbacks: Callbacks):
        self.device, self.total, self.callbacks = device, total, callbacks
        self.started = self.last_flush = time.perf_counter()
        self.flush_every_s = 0.0 if device.type == "cpu" else 0.5
        self.train_time, self.step, self.seen = 0.0, 0, 0

    def start_epoch(self, epoch: int) -> None:
        self.epoch, self.epoch_start, self.epoch_seen = epoch, time.perf_counter(), 0
        self.loss_sum = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), device=self.device, dtype=torch.int64)
        self.pending: list[tuple[int, torch.Tensor, float]] = []

    def record(self, logits: torch.Tensor, loss: torch.Tensor, y: torch.Tensor, lr: float, now: bool = False) -> None:
        """One step done; reported at once when `now` (a Stop), else when the flush interval has passed."""
        self.step += 1
        self.seen += len(y)
        self.epoch_seen += len(y)
        self.loss_sum += loss.detach() * len(y)
        self.correct += (logits.argmax(1) == y).sum()
        self.pending.append((self.step, loss.detach(), lr))
        if now or time.perf_counter() - self.last_flush >= self.flush_every_s:
            self._flush()

    def end_epoch(self) -> None:
        if self.pending:
            self._flush()
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # GPU work is asynchronous: time it once it is done
        self.train_time += time.perf_counter() - self.epoch_start

    def _flush(self) -> None:
        now = self.last_flush = time.perf_counter()
        images_per_second = self.seen / max(self.train_time + now - self.epoch_start, 1e-9)
        _flush(self.pending, self.epoch, images_per_second, now - self.started, self.total, self.step, self.callbacks)
        self.pending = []


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


def _flush(pending, epoch, ips, elapsed, total, step, callbacks: Callbacks) -> None:
    """Read the pending losses (one wait for the device), refuse non-finite ones, report each step."""
    losses = torch.stack([loss for _, loss, _ in pending]).float().tolist()
    for (s, _, lr), loss in zip(pending, losses):
        if not math.isfinite(loss):
            raise Diverged(
                f"the loss became {'NaN' if math.isnan(loss) else 'infinite'} at step {s} (epoch {epoch}) "
                f"with learning rate {lr:.3g}; the weights from the last finished epoch are kept. "
                f"Try a learning rate about 10x lower ({lr / 10:.2g}), or add BatchNorm2d after the convolutions",
                step=s,
            )
    rate = elapsed / step if step else 0.0
    for (s, _, lr), loss in zip(pending, losses):
        callbacks.on_step(StepReport(s, epoch, loss, lr, ips, elapsed, rate * (total - step), total))


def _epoch_report(model, dataset, config, device, epoch: int, pace: _Pace) -> EpochReport:
    predictions = predict_classes(model, dataset.test_x, device, tta=config.tta,
                                  amp=autocast_dtype(config, device), channels_last=config.channels_last)
    report = accuracy_report(predictions, dataset.test_y, dataset.classes)
    return EpochReport(
        epoch=epoch,
        train_loss=float(pace.loss_sum) / pace.epoch_seen,
        train_accuracy=float(pace.correct) / pace.epoch_seen,
        test_accuracy=report.accuracy,
        per_class_accuracy=report.per_class_accuracy,
        seconds=time.perf_counter() - pace.started,
        train_seconds=pace.train_time,
    )
