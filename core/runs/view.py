"""One view of a run, whether a job of this process is training it now or it is read back from its folder: the
history, status and progress line a page draws, so a page has one path for both."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.runs.layout import RunFolder
from core.training.history import History, StepReport
from core.training.status import RunStatus


def format_eta(seconds: float) -> str:
    """Seconds left as minutes:seconds ("12:05"); minutes keep counting past an hour, as a progress bar reads."""
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass(frozen=True)
class RunView:
    id: str
    status: RunStatus
    reason: str  # why it stopped, failed or diverged; empty otherwise
    history: History  # steps (a live job's sample carries its moving average), epochs, events
    total_steps: int = 0  # planned over the whole run; 0 when read back from a folder
    lr: float = 0.0  # the learning rate now (a live job) or at the last recorded step
    live: bool = False  # a job of this process: it can show progress and take Stop or a new learning rate

    @classmethod
    def from_folder(cls, folder: Path) -> RunView:
        """A saved run as its files have it; raises RunError when the summary cannot be read."""
        files = RunFolder(folder)
        summary, history = files.read_summary(), files.read_history()
        lr = history.steps[-1].lr if history.steps else 0.0
        return cls(files.id, summary.status, summary.reason, history, lr=lr)

    @property
    def done(self) -> bool:
        return not self.status.active

    @property
    def training(self) -> bool:
        """Whether progress and the live controls belong on the page: a live job that has not ended."""
        return self.live and not self.done

    @property
    def last_step(self) -> StepReport | None:
        return self.history.steps[-1] if self.history.steps else None

    @property
    def progress(self) -> float:
        """0..1 of the planned steps (0 when the plan is unknown)."""
        last = self.last_step
        return last.step / self.total_steps if last and self.total_steps else 0.0

    def progress_line(self, unit: str = "images", with_lr: bool = True) -> str:
        """ "epoch 2 · step 1,200/4,000 · 3,100 images/s · ETA 0:41 · loss 1.234 · lr 0.05", or "starting…". A
        captioner's encoder adapting to scenes before its captions reports epoch 0."""
        last = self.last_step
        if last is None:
            return "starting…"
        phase = f"epoch {last.epoch}" if last.epoch else "adapting the encoder"
        text = (f"{phase} · step {last.step:,}/{self.total_steps:,} · {last.images_per_second:,.0f} {unit}/s · "
                f"ETA {format_eta(last.eta)} · loss {last.loss:.3f}")
        return f"{text} · lr {self.lr:.3g}" if with_lr else text
