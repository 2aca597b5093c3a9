"""The server's runs behind a fair queue: Start never fails for capacity. A run is written to its folder as a request
(request.json, status "queued") the moment it is asked for, waits its turn (core.classroom.queue), and trains in one of
a fixed number of slots; when one ends, the next starts. Queued runs survive a restart: the folders are the queue."""
from __future__ import annotations

import os
import statistics
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from core.classroom.executors import Executor, ThreadExecutor
from core.classroom.queue import (
    MAX_WAITING_PER_OWNER,
    Place,
    Training,
    Waiting,
    next_to_start,
    places,
)
from core.classroom.requests import (
    RunRequest,
    build_job,
    mark,
    read_request,
    write_request,
)
from core.data.sources import Dataset
from core.data.store import DatasetStore
from core.errors import UserError
from core.jobs.registry import BackgroundJob, JobRegistry, new_job_id
from core.runs.folder import list_runs, log_traceback, run_path
from core.runs.layout import RunError, RunFolder
from core.training.status import RunStatus


class QueueFullError(UserError):
    """One owner has as many runs waiting as the server allows."""


@dataclass(frozen=True)
class TaskRequest:
    """A short job that waits its turn in the same queue as the runs but leaves no run folder: the learning-rate
    finder. It runs in a thread of this process in whatever mode, holding a slot while it runs."""
    name: str
    owner: str | None
    queued: float
    epochs: int = 0  # what the queue's tables show; its steps are few


@dataclass
class Pending:
    request: RunRequest | TaskRequest
    folder: Path | None  # None for a task, which has no run folder
    job: BackgroundJob | None  # built when asked for (which checks it); None for a request read back after a restart


class Scheduler:
    """One per server process. `slots` runs train at once, by the executor's means (threads of this process unless
    told otherwise); the rest wait in fair order."""

    def __init__(self, runs_root: Path, slots: int = 2, datasets: DatasetStore | None = None,
                 waiting_cap: int = MAX_WAITING_PER_OWNER,
                 executor: Callable[[JobRegistry, DatasetStore, Path], Executor] = ThreadExecutor):
        self.registry = JobRegistry(runs_root=runs_root, max_running=max(slots, 1))
        self.runs_root, self.slots, self.waiting_cap = Path(runs_root), slots, waiting_cap
        self.datasets = datasets or DatasetStore()
        self.executor = executor(self.registry, self.datasets, self.runs_root)
        self._waiting: dict[str, Pending] = {}
        self._training: dict[str, tuple[str | None, BackgroundJob]] = {}  # run id -> (owner, job or RemoteRun)
        self._served: dict[str | None, int] = {}  # runs started per owner since the server was last idle (queue.py)
        self._lock = threading.RLock()
        self._recover()

    # --- asking, cancelling ---

    def submit(self, request: RunRequest, dataset: Dataset) -> str:
        """Queue a run (starting it at once when a slot is free); returns its id. A request that cannot train (a bad
        model or setting, a missing encoder run) is refused here, before anything is written."""
        run_id = new_job_id(request.name)
        folder = run_path(run_id, self.runs_root)
        job = build_job(request, dataset, folder, self.runs_root)
        with self._lock:
            self._check_cap(request.owner)
            write_request(folder, request)
            self._waiting[run_id] = Pending(request, folder, job if self.executor.in_process else None)
            self._dispatch()
        return run_id

    def submit_many(self, requests: list[RunRequest], dataset: Dataset) -> list[str]:
        """Queue several runs (a sweep) at once, all or none: each is checked first, and an owner's cap on waiting
        runs counts them together. Returns their ids in the order given."""
        jobs = []
        for request in requests:
            run_id = new_job_id(request.name)
            folder = run_path(run_id, self.runs_root)
            jobs.append((run_id, folder, request, build_job(request, dataset, folder, self.runs_root)))
        with self._lock:
            for owner in {r.owner for r in requests}:
                self._check_cap(owner, sum(r.owner == owner for r in requests))
            for run_id, folder, request, job in jobs:
                write_request(folder, request)
                self._waiting[run_id] = Pending(request, folder, job if self.executor.in_process else None)
            self._dispatch()
        return [run_id for run_id, *_ in jobs]

    def submit_task(self, task: TaskRequest, job) -> str:
        """Queue a task (a Worker, already checked); it starts in a free slot like a run. Returns its id."""
        task_id = new_job_id(task.name)
        with self._lock:
            self._check_cap(task.owner)
            self._waiting[task_id] = Pending(task, None, job)
            self._dispatch()
        return task_id

    def cancel(self, run_id: str) -> bool:
        """Take a waiting run out of the queue (status "cancelled"), or stop a training one (its weights so far are
        kept, as Stop does). False when it is neither (finished, or unknown)."""
        with self._lock:
            pending = self._waiting.pop(run_id, None)
            training = self._training.get(run_id)
        if pending is not None:
            if pending.folder is not None:
                mark(pending.folder, RunStatus.CANCELLED, "cancelled while it waited in the queue")
            return True
        if training is not None:
            training[1].stop()
            return True
        return False

    # --- what pages show ---

    def owner_of(self, run_id: str) -> str | None:
        with self._lock:
            if run_id in self._waiting:
                return self._waiting[run_id].request.owner
            if run_id in self._training:
                return self._training[run_id][0]
        return RunFolder(self.runs_root / run_id).owner

    def queue(self) -> list[tuple[Place, RunRequest]]:
        """Every waiting run, in the order they will start, with its place and estimated start."""
        with self._lock:
            pending, served = dict(self._waiting), dict(self._served)
            training = self._trainings()
        estimates = seconds_per_epoch(self.runs_root)
        waiting = [Waiting(rid, p.request.owner, p.request.queued, _estimate(p.request, estimates))
                   for rid, p in pending.items()]
        return [(place, pending[place.run_id].request) for place in places(waiting, training, self.slots, served)]

    def place_of(self, run_id: str) -> Place | None:
        return next((place for place, _ in self.queue() if place.run_id == run_id), None)

    def training(self) -> list[tuple[str, str | None]]:
        """(run id, owner) of every run training now."""
        with self._lock:
            return [(rid, owner) for rid, (owner, _) in self._training.items()]

    # --- inside ---

    def _check_cap(self, owner: str | None, adding: int = 1) -> None:
        """Refuse `adding` more waiting runs or tasks of an owner who would then have more than `waiting_cap`
        waiting (personal mode: no cap)."""
        mine = sum(p.request.owner == owner for p in self._waiting.values())
        if owner is None or mine + adding <= self.waiting_cap:
            return
        if adding == 1:
            raise QueueFullError(f"you have {mine} runs waiting already (the limit is {self.waiting_cap}): cancel "
                                 "one, or wait until one starts")
        raise QueueFullError(f"these {adding} runs and the {mine} you have waiting are more than the "
                             f"{self.waiting_cap} a person may have waiting: sweep fewer values, or wait")

    def _trainings(self) -> list[Training]:
        out = []
        for rid, (owner, job) in self._training.items():
            steps = getattr(job.snapshot(), "steps", None)  # a task (the finder) reports no ETA: short, unknown
            out.append(Training(rid, owner, steps[-1].eta if steps else None))
        return out

    def _dispatch(self) -> None:
        """Fill every free slot, in fair order. Called when a run is asked for and when one ends."""
        with self._lock:
            while self._waiting and len(self._training) < self.slots:
                waiting = [Waiting(rid, p.request.owner, p.request.queued) for rid, p in self._waiting.items()]
                training = [Training(rid, owner, None) for rid, (owner, _) in self._training.items()]
                chosen = next_to_start(waiting, training, self._served)
                pending = self._waiting.pop(chosen.run_id)
                self._served[chosen.owner] = self._served.get(chosen.owner, 0) + 1
                if pending.folder is None:  # a task: a thread of this process, whatever the executor
                    handle = pending.job
                    handle.when_done(lambda _, rid=chosen.run_id: self._ended(rid))
                    self._training[chosen.run_id] = (pending.request.owner, handle.start())
                    continue
                try:
                    handle = self.executor.start(chosen.run_id, pending.request, pending.folder, pending.job,
                                                 self._ended)
                except Exception as exc:  # any reason at all (its data or encoder run gone): the queue goes on
                    log_traceback(pending.folder, "the queued run could not start")
                    mark(pending.folder, RunStatus.FAILED, f"could not start: {exc}")
                    continue
                self._training[chosen.run_id] = (pending.request.owner, handle)
            if not self._waiting and not self._training:
                self._served.clear()  # the server is idle: the next busy spell starts everyone level

    def _ended(self, run_id: str) -> None:
        with self._lock:
            self._training.pop(run_id, None)
        self._dispatch()

    def _recover(self) -> None:
        """Requests still queued in their folders (from before a restart) wait again, in their old order."""
        for listed in list_runs(self.runs_root):
            if listed.summary.status != RunStatus.QUEUED:
                continue
            try:
                self._waiting[listed.id] = Pending(read_request(listed.path), listed.path, None)
            except RunError as exc:
                mark(listed.path, RunStatus.FAILED, str(exc))
        self._dispatch()


PERSONAL_SLOTS = 4  # runs one learner trains at once, as before the queue; a fifth now waits instead of being refused


def executor_settings(class_mode: bool) -> dict:
    """Slots and executor from the environment: CIFAR10_EXECUTOR ("thread" or "ray"; Ray by default in class mode,
    threads in personal mode, which never imports Ray) and CIFAR10_SLOTS (runs at once; by default 4 threads in
    personal mode, one thread per core in class mode, or one Ray run per CIFAR10_RAY_CPUS_PER_RUN cores)."""
    kind = os.environ.get("CIFAR10_EXECUTOR", "ray" if class_mode else "thread")
    if kind not in ("thread", "ray"):
        raise UserError(f"CIFAR10_EXECUTOR must be 'thread' or 'ray', not {kind[:20]!r}")
    if kind == "thread":  # in class mode the runs share the cores; personal mode keeps torch's own thread count
        default = max(1, os.cpu_count() or 1) if class_mode else PERSONAL_SLOTS
        return {"slots": int(os.environ.get("CIFAR10_SLOTS", default)),
                "executor": partial(ThreadExecutor, share_cores=class_mode)}
    from core.classroom.ray_workers import CPUS_PER_RUN, RayExecutor

    slots = int(os.environ.get("CIFAR10_SLOTS", max(1, (os.cpu_count() or 1) // CPUS_PER_RUN)))
    return {"slots": slots, "executor": RayExecutor}


def seconds_per_epoch(root: Path) -> dict[str, float]:
    """Seconds per epoch of each model name, the median over the runs that finished here."""
    per_epoch: dict[str, list[float]] = {}
    for listed in list_runs(root):
        s = listed.summary
        if s.status == RunStatus.FINISHED and s.train_seconds and s.epochs_done:
            per_epoch.setdefault(s.name, []).append(s.train_seconds / s.epochs_done)
    return {name: statistics.median(values) for name, values in per_epoch.items()}


def _estimate(request: RunRequest, estimates: dict[str, float]) -> float | None:
    per_epoch = estimates.get(request.name)
    return None if per_epoch is None else per_epoch * request.epochs
