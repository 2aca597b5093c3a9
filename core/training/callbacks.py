"""What watches the one loop (core.training.loop): the reports a run sends out (Callbacks), the Control it takes
from outside (stop, a new learning rate), and the loop callbacks that connect the two: StopOnControl,
LearningRateFromControl, DivergenceGuard, Pacer (progress and timing) and EpochEnd (an evaluation per epoch)."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from core.bounds import bounds_of
from core.training.config import ConfigError, TrainConfig
from core.training.history import EpochReport, Event, StepReport
from core.training.loop import Diverged, Loop, StepLoss, StepOutput
from core.training.status import RunStatus


@dataclass
class Callbacks:
    """Where a run's reports go: each step, each epoch (with the model), each event."""

    on_step: Callable[[StepReport], None] = lambda report: None
    on_epoch: Callable[[EpochReport, nn.Module], None] = lambda report, model: None
    on_event: Callable[[Event], None] = lambda event: None


class Control:
    """Shared between a running loop and whoever watches it: stop, and change the learning rate mid-run."""

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


class StopOnControl:
    """Stop takes effect at the next step boundary: no step starts after it, the step under way is the last, and the
    epoch it ends is not evaluated (checked again as the epoch ends: Stop may come from a report of its last step).
    The "stop" event goes to `report` at the end (none: the caller reports it, after its own events)."""

    def __init__(self, control: Control, report: Callbacks | None = None):
        self.control, self.report = control, report

    def before_step(self, loop: Loop) -> None:
        if self.control.stopped:
            loop.end(RunStatus.STOPPED)

    def after_step(self, loop: Loop, out: StepOutput) -> None:
        self.before_step(loop)

    def after_epoch(self, loop: Loop) -> None:
        self.before_step(loop)

    def after_run(self, loop: Loop) -> None:
        if loop.status is RunStatus.STOPPED and self.report is not None:
            self.report.on_event(Event("stop", loop.run_step))


class LearningRateFromControl:
    """A learning rate set mid-run (the page's or the CLI's) becomes the peak rate from the next step on, and is
    reported once as an "lr" event."""

    def __init__(self, control: Control, report: Callbacks):
        self.control, self.report = control, report

    def before_step(self, loop: Loop) -> None:
        if loop.ending:  # stopped before this step: no step will take a new rate, so none is reported
            return
        new_lr = self.control.take_lr()
        if new_lr is not None:
            self.report.on_event(Event("lr", loop.run_step, lr_from=loop.base_lr, lr_to=new_lr))
            loop.base_lr = new_lr


def lower_lr(hint: str = "") -> Callable[[StepLoss], str]:
    """The advice for a trainer whose learning rate can be lowered: where it broke, and a rate 10x lower."""

    def advice(s: StepLoss) -> str:
        became = "NaN" if math.isnan(s.loss) else "infinite"
        return (f"the loss became {became} at step {s.step} (epoch {s.epoch}) with learning rate {s.lr:.3g}; the "
                f"weights from the last finished epoch are kept. Try a learning rate about 10x lower ({s.lr / 10:.2g})"
                f"{hint}")

    return advice


class DivergenceGuard:
    """Ends the run at the first loss that is not a number, with `advice` (the message: what happened, what to
    try); the "diverged" event goes to `report` (none: the caller reports it)."""

    def __init__(self, advice: Callable[[StepLoss], str], report: Callbacks | None = None):
        self.advice, self.report = advice, report

    def after_losses(self, loop: Loop, losses: list[StepLoss]) -> None:
        for s in losses:
            if not math.isfinite(s.loss):
                raise Diverged(self.advice(s), step=s.step)

    def after_run(self, loop: Loop) -> None:
        if loop.status is RunStatus.DIVERGED and self.report is not None:
            self.report.on_event(Event("diverged", loop.diverged_at, reason=loop.reason))


class Pacer:
    """Progress and time: training time apart from evaluation (for images/s and time-to-accuracy), each epoch's loss
    and accuracy sums, and a StepReport per step. Reading a loss waits for the device: free on a CPU, a stall on a
    GPU, so there the losses are read and reported in batches, twice a second. `carried`: seconds and examples of an
    earlier phase of the same run, which the times and rates include; `later_steps`: steps of a later phase, which
    the reported total includes (one progress bar over both)."""

    def __init__(self, report: Callbacks, device: torch.device, carried: tuple[float, int] = (0.0, 0),
                 later_steps: int = 0):
        self.report, self.device, self.later_steps = report, device, later_steps
        self.carried_seconds, self.seen = carried
        self.started = self.last_read = time.perf_counter() - self.carried_seconds
        self.read_every_s = 0.0 if device.type == "cpu" else 0.5
        self.train_time = self.carried_seconds

    def before_epoch(self, loop: Loop) -> None:
        self.epoch_start, self.epoch_seen = time.perf_counter(), 0
        self.loss_sum = torch.zeros((), device=self.device)  # over examples, summed on the device: no wait
        self.read_sum, self.read_steps = 0.0, 0  # over steps, of the losses read so far (all, once the epoch ends)
        self.correct = torch.zeros((), device=self.device, dtype=torch.int64)

    def after_step(self, loop: Loop, out: StepOutput) -> None:
        self.seen += out.size
        self.epoch_seen += out.size
        self.loss_sum += out.loss * out.size
        if out.logits is not None:
            self.correct += (out.logits.argmax(1) == out.labels).sum()
        if loop.ending or time.perf_counter() - self.last_read >= self.read_every_s:
            loop.read_losses()

    def after_epoch(self, loop: Loop) -> None:
        loop.read_losses()
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # GPU work is asynchronous: time it once it is done
        self.train_time += time.perf_counter() - self.epoch_start

    def after_losses(self, loop: Loop, losses: list[StepLoss]) -> None:
        now = self.last_read = time.perf_counter()
        images_per_second = self.seen / max(self.train_time + now - self.epoch_start, 1e-9)
        elapsed = now - self.started
        rate = (elapsed - self.carried_seconds) / loop.step if loop.step else 0.0
        eta, total = rate * (loop.total - loop.step), loop.offset + loop.total + self.later_steps
        for s in losses:
            self.read_sum, self.read_steps = self.read_sum + s.loss, self.read_steps + 1
            self.report.on_step(StepReport(s.step, s.epoch, s.loss, s.lr, images_per_second, elapsed, eta, total))

    @property
    def epoch_loss(self) -> float:
        return float(self.loss_sum) / self.epoch_seen

    @property
    def mean_step_loss(self) -> float:
        """The epoch's loss averaged over its steps (a captioner's: every step has as many scenes)."""
        return self.read_sum / max(1, self.read_steps)

    @property
    def epoch_accuracy(self) -> float:
        return float(self.correct) / self.epoch_seen


class EpochEnd:
    """After each epoch the run goes on from: `evaluate(epoch)` makes its report, which is kept and sent out with
    the model. An epoch ended by Stop or divergence is not evaluated: Stop takes effect at once."""

    def __init__(self, evaluate: Callable[[int], object], report: Callbacks, model: nn.Module):
        self.evaluate, self.report, self.model = evaluate, report, model
        self.epochs: list = []

    def after_epoch(self, loop: Loop) -> None:
        if loop.ending:
            return
        epoch_report = self.evaluate(loop.epoch)
        self.epochs.append(epoch_report)
        self.report.on_epoch(epoch_report, self.model)


class BeforeEpoch:
    """Runs `prepare(epoch)` as each epoch begins (train modes, which parameters learn this epoch)."""

    def __init__(self, prepare: Callable[[int], None]):
        self.prepare = prepare

    def before_epoch(self, loop: Loop) -> None:
        self.prepare(loop.epoch)


class EarlyStop:
    """Ends a run that has stopped getting better: once held-out accuracy (never the test set's) has not beaten its
    best for `patience` epochs, the run finishes after that epoch with an "early-stop" event saying why. Placed after
    EpochEnd, whose reports it reads."""

    def __init__(self, patience: int, epochs: EpochEnd, report: Callbacks):
        self.patience, self.epochs, self.report = patience, epochs, report

    def after_epoch(self, loop: Loop) -> None:
        scores = [e.holdout_accuracy for e in self.epochs.epochs if e.holdout_accuracy is not None]
        if loop.ending or not self.patience or len(scores) <= self.patience:
            return
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))  # the first epoch to reach the best
        if len(scores) - 1 - best >= self.patience:
            loop.end(RunStatus.FINISHED)
            loop.reason = (f"stopped early after epoch {loop.epoch}: held-out accuracy has not beaten epoch "
                           f"{best + 1}'s {scores[best]:.1%} for {self.patience} epoch{'s' * (self.patience > 1)}")
            self.report.on_event(Event("early-stop", loop.run_step, reason=loop.reason))
