"""A run trained by another process, seen and steered through its folder alone: the worker writes metrics and summary
as every run does, and reads Stop and a new learning rate from control.json, which the server writes. A page gets the
same snapshots, Stop and learning-rate control from a RemoteRun as from a job of its own process."""
from __future__ import annotations

import json
import threading
from pathlib import Path

from core.jobs.registry import JobSnapshot
from core.runs.curve import Curve
from core.runs.layout import RunError, RunFolder, write_json
from core.training.callbacks import Control
from core.training.status import RunStatus

FOLLOW_S = 0.5  # how often a worker reads control.json: Stop takes effect within this, plus the step under way


class RemoteRun:
    """The server's handle on a run a worker trains. `alive` until the executor says the worker has returned."""

    def __init__(self, folder: Path, kind: str):
        self.folder, self.id, self.kind = folder, folder.name, kind
        self._done = threading.Event()
        self._lr_changes = 0

    # --- what a page does with a job ---

    def start(self) -> RemoteRun:
        return self  # the executor started it

    @property
    def alive(self) -> bool:
        return not self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def stop(self) -> None:
        self._write_control(stop=True)

    def set_lr(self, lr: float) -> None:
        Control().set_lr(lr)  # the same check, and the same message, as a run of this process
        self._lr_changes += 1
        self._write_control(lr=float(lr), lr_change=self._lr_changes)

    def snapshot(self) -> JobSnapshot:
        """The run as its folder has it now (re-read on every call: pages poll every two seconds)."""
        files = RunFolder(self.folder)
        try:
            summary = files.read_summary()
            status, reason = summary.status, summary.reason
        except RunError:
            status, reason = RunStatus.STARTING, ""
        if status == RunStatus.QUEUED:
            status = RunStatus.STARTING  # the worker has it, and has not written its first summary yet
        history = files.read_history()
        curve = Curve()
        for step in history.steps:
            curve.add(step)
        points = curve.points()
        last = history.steps[-1] if history.steps else None
        lr = last.lr if last else (files.read_request().get("config") or {}).get("lr", 0.0)  # before its first step
        return JobSnapshot(self.id, status, reason, [p.report for p in points], [p.smoothed for p in points],
                           history.epochs, history.events, last.total_steps if last else 0, lr, self.folder)

    # --- the executor ---

    def finished(self) -> None:
        self._done.set()

    def _write_control(self, **changes) -> None:
        files = RunFolder(self.folder)
        write_json(files.control, {**read_control(self.folder), **changes})


def read_control(folder: Path) -> dict:
    try:
        data = json.loads(RunFolder(folder).control.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class ControlFollower:
    """In the worker: a thread that reads control.json and passes Stop and each new learning rate to the loop's
    Control, the same object the Stop button reaches in personal mode."""

    def __init__(self, folder: Path, control: Control, every_s: float = FOLLOW_S):
        self.folder, self.control, self.every_s = folder, control, every_s
        self._seen_lr_change = 0
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"control-{folder.name}", daemon=True)

    def __enter__(self) -> ControlFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._quit.set()
        self._thread.join(2 * self.every_s)

    def _follow(self) -> None:
        while not self._quit.wait(self.every_s):
            self.apply(read_control(self.folder))

    def apply(self, control: dict) -> None:
        if control.get("stop") is True:
            self.control.stop()
        change = control.get("lr_change")
        if isinstance(change, int) and change > self._seen_lr_change and isinstance(control.get("lr"), (int, float)):
            self._seen_lr_change = change
            try:
                self.control.set_lr(float(control["lr"]))
            except ValueError:  # out of range: the page checked it already, so only a hand-edited file gets here
                pass
